// MathJax settings for pymdownx.arithmatex's generic output (\( \) and \[ \]).
// The renderer itself (tex-svg-full.js: every TeX extension, SVG output, no web fonts)
// is copied into the site at build time, so pages render their math offline.
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true },
  svg: { fontCache: "global" },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex", enableMenu: false },
};
// Material loads pages without a full reload: typeset each page it shows.
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) {
    MathJax.typesetPromise();
  }
});
