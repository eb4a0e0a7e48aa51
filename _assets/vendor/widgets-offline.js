// Serve the widget manager's own assets (fonts) from the vendored copy instead of a CDN.
// require.js resolves module ids against the page's folder, and the manager finds its fonts
// from its module id, so map those ids to this folder wherever the page sits in the book.
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  var config = { paths: {
    "@jupyter-widgets/html-manager/dist": here + "html-manager",
    "@jupyter-widgets": here + "html-manager"
  } };
  if (typeof require === "function") {
    require.config(config);
  } else {
    window.require = config;  // read by require.js when it loads after this file
  }
})();

// The widget manager typesets labels through MathJax 2's MathJax.Hub.Queue; the book loads
// MathJax 3, which has no Hub. Bridge the one call it makes, once MathJax 3 has loaded
// (deferred scripts run before DOMContentLoaded, and this listener precedes the manager's).
document.addEventListener("DOMContentLoaded", function () {
  if (window.MathJax && !window.MathJax.Hub) {
    window.MathJax.Hub = {
      Queue: function (command) {
        var element = command && command[2];
        if (window.MathJax.typesetPromise) {
          window.MathJax.typesetPromise(element ? [element] : undefined);
        }
      }
    };
  }
});
