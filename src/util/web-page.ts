/**
 * Text that was meant to be JSON but is a web page: what a URL gives when it points at a repository's page, a
 * login or an error page instead of the raw file (Hugging Face's ".../blob/main/x.json" rather than
 * ".../resolve/main/x.json", a captive portal, an expired link). Saying "not valid JSON" there sends the
 * user looking at the file; saying "a web page" sends them to the URL. Platform-neutral.
 */
export function looksLikeWebPage(text: string): boolean {
  const head = text
    .slice(0, 512)
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  return /^<(!doctype html|html|head|body|!--|\?xml|meta|title|script|div|p[\s>])/.test(head);
}

/** The detail of an error for a file that is a web page. */
export const WEB_PAGE_DETAIL =
  'is a web page (HTML), not JSON: the URL returned a page (a repository, login or error page) instead of the file; ' +
  'check that it points at the raw file (on Hugging Face: .../resolve/main/..., not .../blob/main/...)';
