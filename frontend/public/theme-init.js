/* global window, document, localStorage */
// Apply the stored theme before first paint so dark mode does not flash white. A classic
// (blocking) script in <head>, served as a file: the Content-Security-Policy allows no inline script.
(function () {
  try {
    var t = localStorage.getItem('potluck.theme') || 'system';
    var dark =
      t === 'dark' ||
      (t === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
    if (dark) document.documentElement.classList.add('dark');
  } catch {
    // Storage blocked (private mode, policy): keep the light default.
  }
})();
