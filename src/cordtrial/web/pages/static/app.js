// Small behaviours of every page, as external script (the Content-Security-Policy allows no
// inline script or onclick attribute): a button with data-print prints the page.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (button) {
    event.preventDefault();
    window.print();
  }
});
