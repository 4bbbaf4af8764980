// Names for the controls that Django admin's widget scripts build without one (WCAG 4.1.2):
// the searchable select of autocomplete fields (select2) takes the name of the field's label,
// and the help icons of the two-list selector (filter_horizontal) get the image role their
// label needs. Runs after those scripts (they start on the page's load) and on new inline rows.
"use strict";

function nameAutocompleteBoxes(root) {
  root.querySelectorAll("select.admin-autocomplete").forEach((select) => {
    const container = select.nextElementSibling;
    const label = select.id && document.querySelector(`label[for="${CSS.escape(select.id)}"]`);
    if (!container || !label) return;
    const box = container.querySelector('.select2-selection[role="combobox"]');
    if (!box) return;
    if (!label.id) label.id = `${select.id}-label`;
    const rendered = box.querySelector(".select2-selection__rendered");
    box.setAttribute("aria-labelledby", rendered && rendered.id ? `${label.id} ${rendered.id}` : label.id);
    // select2 calls the text of the current choice a read-only text box, a field with no name of
    // its own; it is the combobox's value, which the combobox's name above already reads out.
    if (rendered) {
      rendered.removeAttribute("role");
      rendered.removeAttribute("aria-readonly");
    }
  });
}

function giveHelpIconsARole(root) {
  root.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach((icon) => icon.setAttribute("role", "img"));
}

function nameControls(root) {
  nameAutocompleteBoxes(root);
  giveHelpIconsARole(root);
}

window.addEventListener("load", () => setTimeout(() => nameControls(document), 0));
document.addEventListener("formset:added", (event) => setTimeout(() => nameControls(event.target), 0));
