/**
 * The reinforcement-learning core: configs, the TWOSOME policy over action scores, GAE, PPO losses with their
 * gradients, minibatch indices, rollouts and metrics, the run base both trainers share, Adam, and the two CPU
 * baselines (PPO-MLP, SayCan).
 */
export * from './config';
export * from './categorical';
export * from './policy';
export * from './gae';
export * from './ppo-loss';
export * from './policy-pass';
export * from './minibatch';
export * from './rollout';
export * from './ppo-run';
export * from '../llm/reference/adamw';
export * from '../llm/reference/grad-norm';
export { Mlp, type MlpForward, type MlpInit } from './mlp/mlp';
export { orthogonalMatrix } from './mlp/orthogonal';
export * from './ppo-mlp';
export * from './saycan';
export * from './twosome-model';
export * from './twosome-trainer';
export * from './evaluate';
export * from './compare';
export * from './checkpoint';
