/**
 * three.js's console output, with one message dropped: the deprecation of THREE.Clock (three r183), which
 * @react-three/fiber 9 (the latest release) constructs in every Canvas's store. Nothing in this project uses
 * the clock, and there is nothing to change on our side: fiber 10 replaces it with THREE.Timer
 * (pmndrs/react-three-fiber#3741). Remove this file when fiber is upgraded to a release without the clock.
 * Every other message goes to the console as three.js would send it.
 */
import { setConsoleFunction } from 'three';

export const FIBER_CLOCK_DEPRECATION = 'THREE.Clock: This module has been deprecated. Please use THREE.Timer instead.';

type ConsoleType = 'log' | 'warn' | 'error';

export function installThreeConsole(): void {
  setConsoleFunction((type: ConsoleType, message: string, ...params: unknown[]) => {
    if (type === 'warn' && message === FIBER_CLOCK_DEPRECATION) return;
    console[type](message, ...params);
  });
}
