// A form page answered to a POST (it lists the problems to correct) becomes a plain GET entry
// in the browser's history, so Back or reload never asks to "Confirm form resubmission".
// Nothing else: the page works the same without it.
if (window.history && window.history.replaceState) {
  window.history.replaceState(null, "", window.location.href);
}
