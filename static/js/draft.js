// Keeps what a person types into a question page in this browser tab (sessionStorage) until the
// portal has saved it, so a save that fails (the service briefly unavailable, a lost
// connection) loses nothing: coming back to the page puts the answers back.
//
// A form opts in with data-keep-draft="<name of its revision field>". The draft remembers the
// revision the page was rendered with; when the page comes back with the same revision the save
// never happened and the draft is put back; a newer revision means it was saved (here or in
// another tab) and the draft is dropped. Signing out drops every draft of the tab.
const PREFIX = "onedoor:draft:";
const SKIPPED_TYPES = new Set(["hidden", "password", "file", "submit", "button", "reset", "image"]);

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage switched off: the page works as before
  }
}

function fieldsOf(form) {
  return Array.from(form.elements).filter(
    (element) => element.name && !SKIPPED_TYPES.has(element.type) && !element.disabled,
  );
}

function valuesOf(form) {
  const values = {};
  for (const element of fieldsOf(form)) {
    const list = (values[element.name] ??= []);
    if (element.type === "checkbox" || element.type === "radio") {
      if (element.checked) list.push(element.value);
    } else if (element.multiple) {
      list.push(...Array.from(element.selectedOptions, (option) => option.value));
    } else {
      list.push(element.value);
    }
  }
  return values;
}

function restore(form, values) {
  const seen = {};
  for (const element of fieldsOf(form)) {
    const wanted = values[element.name];
    if (!wanted) continue;
    if (element.type === "checkbox" || element.type === "radio") {
      element.checked = wanted.includes(element.value);
    } else if (element.multiple) {
      for (const option of element.options) option.selected = wanted.includes(option.value);
    } else {
      const index = (seen[element.name] = (seen[element.name] ?? -1) + 1);
      if (index < wanted.length) element.value = wanted[index];
    }
  }
}

function keepDraft(form, store) {
  const key = PREFIX + window.location.pathname;
  const revisionField = form.elements.namedItem(form.dataset.keepDraft);
  const revision = revisionField ? revisionField.value : "";
  const saved = JSON.parse(store.getItem(key) || "null");
  if (saved && saved.revision === revision) {
    if (JSON.stringify(saved.values) !== JSON.stringify(valuesOf(form))) {
      restore(form, saved.values);
      const notice = form.parentElement.querySelector("[data-draft-restored]");
      if (notice) notice.hidden = false;
    }
  } else if (saved) {
    store.removeItem(key); // saved since (a newer revision): nothing to put back
  }
  const remember = () => {
    try {
      store.setItem(key, JSON.stringify({ revision, values: valuesOf(form) }));
    } catch {
      // storage full: the page still works, without the safety net
    }
  };
  form.addEventListener("input", remember);
  form.addEventListener("change", remember);
  form.addEventListener("submit", remember);
}

const store = storage();
if (store) {
  for (const form of document.querySelectorAll("form[data-keep-draft]")) keepDraft(form, store);
  // On a shared computer, answers must not outlive the session that typed them.
  for (const form of document.querySelectorAll("form[data-sign-out]")) {
    form.addEventListener("submit", () => {
      for (const key of Object.keys(store)) if (key.startsWith(PREFIX)) store.removeItem(key);
    });
  }
}
