// At phone width, fold the main menu behind its "Menu" button (the page stays usable without
// this script: the menu is then simply open).
(function () {
  var menu = document.getElementById("menu");
  if (menu && window.matchMedia("(max-width: 600px)").matches) { menu.open = false; }
})();
