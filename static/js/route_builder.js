// The route builder and the eligibility builder of the version admin (services/admin/route_builder.py).
// Progressive enhancement: the JSON textarea is the form field. Without JavaScript it is edited
// as it is; with JavaScript a form of steps (or rules) is built from it and writes the JSON back
// on every change, and the textarea stays under "Advanced: edit as JSON".
// The route's diagram and the publish checks come from the server (route-preview), so the
// builder shows exactly what publishing would say, next to the step it is about.
(function () {
  "use strict";

  let counter = 0;
  const uid = (base) => `${base}-${++counter}`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child);
    }
    return node;
  }

  function interpolate(text, values) {
    return text.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
  }

  function field(labelText, control, hint) {
    const hintNode = hint ? el("div", { class: "od-builder__hint", id: uid("hint"), text: hint }) : null;
    if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
    return el("div", { class: "od-builder__field" }, el("label", { for: control.id, text: labelText }), hintNode, control);
  }

  function select(id, choices, value, onChange, unknownLabel) {
    // choices: [{value, label}] or {group, choices}
    const node = el("select", { id, onchange: (event) => onChange(event.target.value) });
    let found = false;
    const addOptions = (parent, list) => {
      for (const choice of list) {
        if (choice.group) {
          if (!choice.choices.length) continue;
          const group = el("optgroup", { label: choice.group });
          addOptions(group, choice.choices);
          parent.append(group);
          continue;
        }
        const option = el("option", { value: choice.value, text: choice.label });
        if (String(choice.value) === String(value ?? "")) {
          option.selected = true;
          found = true;
        }
        parent.append(option);
      }
    };
    addOptions(node, choices);
    if (!found && value !== undefined && value !== null && value !== "") {
      node.append(el("option", { value, selected: true, text: interpolate(unknownLabel, { code: value }) }));
    }
    return node;
  }

  // --- Conditions ----------------------------------------------------------------------------
  const COMBINATORS = ["all", "any"];

  function comparisonOperator(condition) {
    return Object.keys(condition).find((name) => name !== "element");
  }

  function isComparison(condition) {
    return (
      condition &&
      typeof condition === "object" &&
      !Array.isArray(condition) &&
      typeof condition.element === "string" &&
      Object.keys(condition).length === 2
    );
  }

  function valueText(value) {
    if (Array.isArray(value)) return value.join(", ");
    if (value === true) return "true";
    if (value === false) return "false";
    return value === undefined || value === null ? "" : String(value);
  }

  // A condition as the builder edits it: {mode: "all"|"any", rows: [{element, op, value}]},
  // or null when it is too complex for the form (then it is kept and edited as JSON).
  function readCondition(condition) {
    if (!condition || (typeof condition === "object" && Object.keys(condition).length === 0)) {
      return { mode: "all", rows: [] };
    }
    if (isComparison(condition)) {
      const op = comparisonOperator(condition);
      return { mode: "all", rows: [{ element: condition.element, op, value: valueText(condition[op]) }] };
    }
    for (const mode of COMBINATORS) {
      if (Array.isArray(condition[mode]) && Object.keys(condition).length === 1 && condition[mode].every(isComparison)) {
        return {
          mode,
          rows: condition[mode].map((part) => {
            const op = comparisonOperator(part);
            return { element: part.element, op, value: valueText(part[op]) };
          }),
        };
      }
    }
    return null;
  }

  function elementKind(options, key) {
    const found = [...options.elementsOnForm, ...options.otherElements].find((element) => element.key === key);
    return found ? found.kind : "";
  }

  function typedValue(kind, text) {
    const trimmed = text.trim();
    if ((kind === "number" || kind === "decimal") && trimmed !== "" && !Number.isNaN(Number(trimmed))) {
      return Number(trimmed);
    }
    if (kind === "boolean" && (trimmed === "true" || trimmed === "false")) return trimmed === "true";
    return trimmed;
  }

  function writeCondition(state, options) {
    const parts = state.rows
      .filter((row) => row.element && row.op)
      .map((row) => {
        const kind = elementKind(options, row.element);
        let value;
        if (row.op === "is_set" || row.op === "is_true" || row.op === "is_false") value = true;
        else if (row.op === "in" || row.op === "not_in") {
          value = row.value
            .split(",")
            .map((item) => item.trim())
            .filter((item) => item !== "")
            .map((item) => typedValue(kind, item));
        } else value = typedValue(kind, row.value);
        return { element: row.element, [row.op]: value };
      });
    if (parts.length === 0) return null;
    if (parts.length === 1) return parts[0];
    return { [state.mode]: parts };
  }

  // The condition builder: element, operator and value rows joined by "all" or "any".
  function conditionEditor({ condition, options, strings, legend, idBase, onChange, rerender }) {
    const state = readCondition(condition);
    const box = el("fieldset", { class: "od-builder__condition" }, el("legend", { text: legend }));
    if (state === null) {
      box.append(
        el("p", { class: "od-builder__hint", text: strings.conditionTooComplex }),
        el("pre", { class: "od-builder__code", text: JSON.stringify(condition, null, 2) }),
      );
      return box;
    }
    const changed = () => onChange(writeCondition(state, options));
    if (state.rows.length === 0) box.append(el("p", { class: "od-builder__hint", text: strings.always }));
    if (state.rows.length > 1) {
      const id = `${idBase}-mode`;
      box.append(
        field(
          strings.match,
          select(
            id,
            [
              { value: "all", label: strings.matchAll },
              { value: "any", label: strings.matchAny },
            ],
            state.mode,
            (value) => {
              state.mode = value;
              changed();
            },
            strings.unknown,
          ),
        ),
      );
    }
    state.rows.forEach((row, index) => {
      const rowId = `${idBase}-c${index}`;
      const kind = elementKind(options, row.element);
      const operators = options.operatorsByKind[kind] || options.operatorsByKind[""];
      const elementSelect = select(
        `${rowId}-element`,
        [
          { value: "", label: strings.chooseElement },
          { group: strings.onForm, choices: options.elementsOnForm.map((e) => ({ value: e.key, label: e.label })) },
          { group: strings.notOnForm, choices: options.otherElements.map((e) => ({ value: e.key, label: e.label })) },
        ],
        row.element,
        (value) => {
          row.element = value;
          const allowed = options.operatorsByKind[elementKind(options, value)] || options.operatorsByKind[""];
          if (!allowed.includes(row.op)) row.op = allowed[0];
          changed();
          rerender(`${rowId}-element`);
        },
        strings.unknown,
      );
      const operatorSelect = select(
        `${rowId}-op`,
        operators.map((op) => ({ value: op, label: options.operators[op] || op })),
        row.op,
        (value) => {
          row.op = value;
          changed();
          rerender(`${rowId}-op`);
        },
        strings.unknown,
      );
      let valueControl = null;
      if (!["is_set", "is_true", "is_false"].includes(row.op)) {
        const valueId = `${rowId}-value`;
        const element = [...options.elementsOnForm, ...options.otherElements].find((e) => e.key === row.element);
        if (kind === "boolean") {
          valueControl = select(
            valueId,
            [
              { value: "", label: strings.choose },
              { value: "true", label: strings.yes },
              { value: "false", label: strings.no },
            ],
            row.value,
            (value) => {
              row.value = value;
              changed();
            },
            strings.unknown,
          );
        } else if (kind === "choice" && element && element.choices.length && !["in", "not_in"].includes(row.op)) {
          valueControl = select(
            valueId,
            [{ value: "", label: strings.choose }, ...element.choices.map((c) => ({ value: c.value, label: c.label }))],
            row.value,
            (value) => {
              row.value = value;
              changed();
            },
            strings.unknown,
          );
        } else {
          const type = kind === "date" && !["in", "not_in"].includes(row.op) ? "date" : "text";
          valueControl = el("input", {
            id: valueId,
            type,
            value: row.value,
            inputmode: kind === "number" || kind === "decimal" ? "decimal" : null,
            oninput: (event) => {
              row.value = event.target.value;
              changed();
            },
          });
        }
        valueControl = field(
          strings.value,
          valueControl,
          ["in", "not_in"].includes(row.op) ? strings.listHint : null,
        );
      }
      box.append(
        el(
          "div",
          { class: "od-builder__row", role: "group", "aria-label": interpolate(strings.conditionN, { n: index + 1 }) },
          field(strings.element, elementSelect),
          field(strings.operator, operatorSelect),
          valueControl,
          el("button", {
            type: "button",
            class: "od-builder__button od-builder__button--secondary",
            id: `${rowId}-remove`,
            text: interpolate(strings.removeCondition, { n: index + 1 }),
            onclick: () => {
              state.rows.splice(index, 1);
              changed();
              rerender(state.rows.length ? `${idBase}-c${Math.max(index - 1, 0)}-element` : `${idBase}-add`);
            },
          }),
        ),
      );
    });
    box.append(
      el("button", {
        type: "button",
        class: "od-builder__button od-builder__button--secondary",
        id: `${idBase}-add`,
        text: state.rows.length ? strings.addAnotherCondition : strings.addCondition,
        onclick: () => {
          const first = options.elementsOnForm[0];
          const kind = first ? first.kind : "";
          const allowed = options.operatorsByKind[kind] || options.operatorsByKind[""];
          state.rows.push({ element: first ? first.key : "", op: allowed[0], value: "" });
          changed();
          rerender(`${idBase}-c${state.rows.length - 1}-element`);
        },
      }),
    );
    return box;
  }

  // --- The builders ---------------------------------------------------------------------------
  function start(root) {
    const config = JSON.parse(document.getElementById(root.dataset.odConfig).textContent);
    const { options } = config;
    const strings = options.strings;
    const textarea = root.querySelector("textarea");
    const details = root.querySelector("details");
    const isRoute = config.builder === "route";
    const base = textarea.id || uid("builder");
    const app = el("div", { class: "od-builder__app" });
    const status = el("p", { class: "od-builder__status", role: "status" });
    const jsonMessage = el("p", { class: "od-builder__error", id: `${base}-json-error`, hidden: true });
    root.insertBefore(app, details);
    details.append(jsonMessage);
    details.open = false;

    let document_ = null; // the route object, or the list of eligibility rules
    let problems = config.problems || [];

    function read() {
      const text = textarea.value.trim();
      const empty = isRoute ? { steps: [] } : [];
      if (text === "") return { value: empty };
      try {
        let value = JSON.parse(text);
        if (value === null) value = empty;
        if (isRoute) {
          if (Array.isArray(value)) value = { steps: value };
          if (typeof value !== "object" || Array.isArray(value)) throw new Error(strings.routeShape);
          if (value.steps === undefined) value.steps = [];
          if (!Array.isArray(value.steps) || !value.steps.every((s) => s && typeof s === "object" && !Array.isArray(s))) {
            throw new Error(strings.routeShape);
          }
        } else if (!Array.isArray(value) || !value.every((r) => r && typeof r === "object" && !Array.isArray(r))) {
          throw new Error(strings.rulesShape);
        }
        return { value };
      } catch (error) {
        return { error: error.message };
      }
    }

    function write() {
      textarea.value = JSON.stringify(document_, null, 2);
      if (isRoute) schedulePreview();
    }

    // --- Live diagram and checks (route only).
    const diagramBox = isRoute ? document.querySelector(".field-diagram .readonly") : null;
    let timer = null;
    let generation = 0;
    function schedulePreview() {
      if (!config.previewUrl) return;
      clearTimeout(timer);
      timer = setTimeout(preview, 350);
    }
    async function preview() {
      const token = textarea.form && textarea.form.querySelector("[name=csrfmiddlewaretoken]");
      const body = new URLSearchParams({ route: textarea.value });
      if (config.version) body.set("version", config.version);
      const mine = ++generation;
      try {
        const response = await fetch(config.previewUrl, {
          method: "POST",
          body,
          headers: { "X-CSRFToken": token ? token.value : "" },
          credentials: "same-origin",
        });
        if (!response.ok || mine !== generation) return;
        const answer = await response.json();
        problems = answer.problems;
        if (diagramBox && answer.diagram !== undefined) diagramBox.innerHTML = answer.diagram;
        showProblems();
      } catch {
        // Offline or refused: the diagram and checks of the last save stay; saving still works.
      }
    }

    function problemsFor(position, key) {
      return problems.filter((p) => (p.position !== null && p.position !== undefined ? p.position === position : p.step === key));
    }

    function errorList(messages, id) {
      const list = el("ul", { class: "errorlist od-builder__problems", id });
      for (const message of messages) list.append(el("li", { text: message }));
      list.hidden = messages.length === 0;
      return list;
    }

    function showProblems() {
      if (!isRoute) return;
      const general = problems.filter((p) => p.step === null || p.step === undefined);
      const top = app.querySelector(`#${base}-route-problems`);
      if (top) top.replaceWith(errorList(general.map((p) => p.message), `${base}-route-problems`));
      (document_.steps || []).forEach((step, position) => {
        const list = app.querySelector(`#${base}-s${position}-problems`);
        const mine = problemsFor(position, step.key).map((p) => p.message);
        if (list) list.replaceWith(errorList(mine, `${base}-s${position}-problems`));
        const box = app.querySelector(`#${base}-s${position}`);
        if (box) box.classList.toggle("od-builder__item--error", mine.length > 0);
      });
      status.textContent = problems.length
        ? interpolate(problems.length === 1 ? strings.oneProblem : strings.manyProblems, { n: problems.length })
        : strings.noProblems;
    }

    function render(focusId) {
      app.replaceChildren();
      if (document_ === null) {
        app.append(el("p", { class: "od-builder__error", text: strings.cannotBuild }));
        details.open = true;
        return;
      }
      if (isRoute) renderRoute();
      else renderRules();
      showProblems();
      if (focusId) {
        const target = document.getElementById(focusId);
        if (target) target.focus();
      }
    }

    function stepName(step, position) {
      return step.label_en || step.key || interpolate(strings.stepN, { n: position + 1 });
    }

    function renderRoute() {
      const steps = document_.steps;
      app.append(el("p", { class: "od-builder__hint", text: strings.routeIntro }));
      app.append(errorList([], `${base}-route-problems`));
      steps.forEach((step, position) => {
        const id = `${base}-s${position}`;
        const changedText = (name) => (event) => {
          if (event.target.value === "") delete step[name];
          else step[name] = event.target.value;
          write();
        };
        const rerender = (focusId) => render(focusId);
        const keyInput = el("input", {
          id: `${id}-key`,
          type: "text",
          value: step.key || "",
          autocomplete: "off",
          spellcheck: "false",
          oninput: (event) => {
            step.key = event.target.value;
            write();
          },
          onchange: (event) => {
            // Steps that came after the old key now come after the new one.
            const old = event.target.dataset.was;
            const now = event.target.value;
            for (const other of steps) {
              if (Array.isArray(other.after)) other.after = other.after.map((key) => (key === old ? now : key));
            }
            event.target.dataset.was = now;
            write();
            render(`${id}-key`);
          },
        });
        keyInput.dataset.was = step.key || "";
        const department = select(
          `${id}-department`,
          [{ value: "", label: strings.choose }, ...options.departments.map((d) => ({ value: d.code, label: d.name }))],
          step.department,
          (value) => {
            if (value) step.department = value;
            else delete step.department;
            write();
          },
          strings.unknown,
        );
        const kind = select(
          `${id}-kind`,
          [{ value: "", label: strings.choose }, ...options.kinds.map((k) => ({ value: k.code, label: k.name }))],
          step.kind,
          (value) => {
            step.kind = value;
            write();
            render(`${id}-kind`);
          },
          strings.unknown,
        );
        const kindFields = [];
        if (step.kind === "automatic") {
          kindFields.push(
            field(
              strings.handler,
              select(
                `${id}-handler`,
                [
                  { value: "", label: strings.choose },
                  ...options.handlers.map((h) => ({ value: h.name, label: `${h.name} (${h.department})` })),
                ],
                step.handler,
                (value) => {
                  if (value) step.handler = value;
                  else delete step.handler;
                  write();
                },
                strings.unknown,
              ),
            ),
          );
        }
        if (step.kind === "issue") {
          kindFields.push(
            field(
              strings.documentType,
              select(
                `${id}-document-type`,
                [
                  { value: "", label: strings.choose },
                  ...options.documentTypes.map((d) => ({ value: d.code, label: `${d.name} (${d.code})` })),
                ],
                step.document_type,
                (value) => {
                  if (value) step.document_type = value;
                  else delete step.document_type;
                  write();
                },
                strings.unknown,
              ),
            ),
          );
        }
        const sla = el("input", {
          id: `${id}-sla`,
          type: "number",
          min: "1",
          step: "1",
          inputmode: "numeric",
          class: "od-builder__short",
          value: step.sla_days ?? "",
          oninput: (event) => {
            const text = event.target.value.trim();
            if (text === "") delete step.sla_days;
            else step.sla_days = /^-?\d+$/.test(text) ? Number(text) : text;
            write();
          },
        });
        const others = steps.filter((other, index) => index !== position && other.key);
        const after = Array.isArray(step.after) ? step.after : step.after ? [step.after] : [];
        const afterBox = el("fieldset", { class: "od-builder__after" }, el("legend", { text: strings.after }));
        if (!others.length) afterBox.append(el("p", { class: "od-builder__hint", text: strings.firstStep }));
        others.forEach((other) => {
          const boxId = `${id}-after-${steps.indexOf(other)}`;
          afterBox.append(
            el(
              "div",
              { class: "od-builder__check" },
              el("input", {
                type: "checkbox",
                id: boxId,
                checked: after.includes(other.key),
                onchange: (event) => {
                  const chosen = new Set(Array.isArray(step.after) ? step.after : step.after ? [step.after] : []);
                  if (event.target.checked) chosen.add(other.key);
                  else chosen.delete(other.key);
                  // Kept in the order the steps are written.
                  const ordered = steps.map((s) => s.key).filter((key) => chosen.has(key));
                  if (ordered.length) step.after = ordered;
                  else delete step.after;
                  write();
                },
              }),
              el("label", { for: boxId, text: other.label_en ? `${other.label_en} (${other.key})` : other.key }),
            ),
          );
        });
        const unknownAfter = after.filter((key) => !others.some((other) => other.key === key));
        if (unknownAfter.length) {
          afterBox.append(
            el("p", { class: "od-builder__hint", text: interpolate(strings.unknownAfter, { keys: unknownAfter.join(", ") }) }),
          );
        }
        const condition = conditionEditor({
          condition: step.when,
          options,
          strings,
          legend: strings.when,
          idBase: `${id}-when`,
          onChange: (value) => {
            if (value === null) delete step.when;
            else step.when = value;
            write();
          },
          rerender,
        });
        const move = (offset) => () => {
          const [moved] = steps.splice(position, 1);
          steps.splice(position + offset, 0, moved);
          write();
          const target = position + offset;
          const edge = offset < 0 ? target === 0 : target === steps.length - 1;
          render(`${base}-s${target}-${offset < 0 ? (edge ? "down" : "up") : edge ? "up" : "down"}`);
        };
        const legend = interpolate(strings.stepLegend, { n: position + 1, name: stepName(step, position) });
        app.append(
          el(
            "fieldset",
            { class: "od-builder__item", id, "aria-describedby": `${id}-problems` },
            el("legend", { text: legend }),
            errorList(problemsFor(position, step.key).map((p) => p.message), `${id}-problems`),
            el(
              "div",
              { class: "od-builder__grid" },
              field(strings.key, keyInput, strings.keyHint),
              field(strings.labelEn, el("input", { id: `${id}-label-en`, type: "text", value: step.label_en || "", oninput: changedText("label_en") })),
              field(strings.labelZh, el("input", { id: `${id}-label-zh`, type: "text", lang: "zh", value: step.label_zh || "", oninput: changedText("label_zh") })),
              field(strings.department, department),
              field(strings.kind, kind),
              ...kindFields,
              field(strings.sla, sla),
            ),
            afterBox,
            condition,
            el(
              "div",
              { class: "od-builder__actions" },
              position > 0
                ? el("button", { type: "button", class: "od-builder__button od-builder__button--secondary", id: `${id}-up`, text: interpolate(strings.moveUp, { name: stepName(step, position) }), onclick: move(-1) })
                : null,
              position < steps.length - 1
                ? el("button", { type: "button", class: "od-builder__button od-builder__button--secondary", id: `${id}-down`, text: interpolate(strings.moveDown, { name: stepName(step, position) }), onclick: move(1) })
                : null,
              el("button", {
                type: "button",
                class: "od-builder__button od-builder__button--warning",
                id: `${id}-remove`,
                text: interpolate(strings.removeStep, { name: stepName(step, position) }),
                onclick: () => {
                  const [removed] = steps.splice(position, 1);
                  for (const other of steps) {
                    if (Array.isArray(other.after)) {
                      other.after = other.after.filter((key) => key !== removed.key);
                      if (!other.after.length) delete other.after;
                    }
                  }
                  write();
                  render(steps.length ? `${base}-s${Math.min(position, steps.length - 1)}-key` : `${base}-add`);
                },
              }),
            ),
          ),
        );
      });
      app.append(
        el("button", {
          type: "button",
          class: "od-builder__button",
          id: `${base}-add`,
          text: strings.addStep,
          onclick: () => {
            const keys = new Set(steps.map((s) => s.key));
            let n = steps.length + 1;
            while (keys.has(`step-${n}`)) n += 1;
            const last = steps[steps.length - 1];
            const step = { key: `step-${n}`, department: "", kind: "review" };
            if (last && last.key) step.after = [last.key];
            if (!step.department) delete step.department;
            steps.push(step);
            write();
            render(`${base}-s${steps.length - 1}-key`);
          },
        }),
        status,
      );
    }

    function renderRules() {
      const rules = document_;
      app.append(el("p", { class: "od-builder__hint", text: strings.rulesIntro }));
      rules.forEach((rule, position) => {
        const id = `${base}-r${position}`;
        const text = (name) => (event) => {
          if (event.target.value === "") delete rule[name];
          else rule[name] = event.target.value;
          write();
        };
        const missing = [];
        if (!rule.when || Object.keys(rule.when).length === 0) missing.push(strings.ruleNeedsCondition);
        if (!rule.reason_en) missing.push(strings.ruleNeedsReason);
        app.append(
          el(
            "fieldset",
            { class: "od-builder__item", id },
            el("legend", { text: interpolate(strings.ruleN, { n: position + 1 }) }),
            errorList(missing, `${id}-problems`),
            conditionEditor({
              condition: rule.when,
              options,
              strings,
              legend: strings.eligibleWhen,
              idBase: `${id}-when`,
              onChange: (value) => {
                if (value === null) delete rule.when;
                else rule.when = value;
                write();
                const list = app.querySelector(`#${id}-problems`);
                const now = [];
                if (!rule.when) now.push(strings.ruleNeedsCondition);
                if (!rule.reason_en) now.push(strings.ruleNeedsReason);
                list.replaceWith(errorList(now, `${id}-problems`));
              },
              rerender: (focusId) => render(focusId),
            }),
            el(
              "div",
              { class: "od-builder__grid" },
              field(strings.reasonEn, el("input", { id: `${id}-reason-en`, type: "text", value: rule.reason_en || "", oninput: text("reason_en") }), strings.reasonHint),
              field(strings.reasonZh, el("input", { id: `${id}-reason-zh`, type: "text", lang: "zh", value: rule.reason_zh || "", oninput: text("reason_zh") })),
            ),
            el(
              "div",
              { class: "od-builder__actions" },
              el("button", {
                type: "button",
                class: "od-builder__button od-builder__button--warning",
                id: `${id}-remove`,
                text: interpolate(strings.removeRule, { n: position + 1 }),
                onclick: () => {
                  rules.splice(position, 1);
                  write();
                  render(rules.length ? `${base}-r${Math.min(position, rules.length - 1)}-when-add` : `${base}-add`);
                },
              }),
            ),
          ),
        );
      });
      app.append(
        el("button", {
          type: "button",
          class: "od-builder__button",
          id: `${base}-add`,
          text: strings.addRule,
          onclick: () => {
            rules.push({});
            write();
            render(`${base}-r${rules.length - 1}-when-add`);
          },
        }),
      );
    }

    // The JSON view: a valid edit there rebuilds the form; an invalid one is said, not lost.
    textarea.addEventListener("change", () => {
      const { value, error } = read();
      jsonMessage.hidden = !error;
      jsonMessage.textContent = error ? interpolate(strings.jsonError, { error }) : "";
      if (error) {
        textarea.setAttribute("aria-describedby", jsonMessage.id);
        return;
      }
      textarea.removeAttribute("aria-describedby");
      document_ = value;
      render();
      if (isRoute) schedulePreview();
    });

    const initial = read();
    document_ = initial.error ? null : initial.value;
    if (initial.error) {
      jsonMessage.hidden = false;
      jsonMessage.textContent = interpolate(strings.jsonError, { error: initial.error });
    }
    render();
    if (isRoute && document_ !== null) schedulePreview();
  }

  function startAll() {
    for (const root of document.querySelectorAll("[data-od-builder]")) start(root);
  }
  // The admin loads form media in the page's head.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
