// Initialises the design system's behaviour on every page (no inline scripts: CSP).
import { initAll } from "/static/build/js/govuk-frontend.min.js";
document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
// "Print" buttons (shown only with JavaScript): the browser's own print dialog.
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
