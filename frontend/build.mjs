// Builds the design system into static/build: our Sass on top of govuk-frontend
// (neutral One Door branding, system fonts) plus the vendored scripts we serve ourselves.
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import * as sass from "sass";

const out = "static/build";
mkdirSync(`${out}/js`, { recursive: true });

const css = sass.compile("static/src/onedoor.scss", {
  loadPaths: ["node_modules"],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import", "global-builtin", "slash-div"],
});
writeFileSync(`${out}/onedoor.css`, css.css);

cpSync("node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js", `${out}/js/govuk-frontend.min.js`);
cpSync("node_modules/govuk-frontend/dist/govuk/assets/images", `${out}/images`, { recursive: true });
cpSync("node_modules/htmx.org/dist/htmx.min.js", `${out}/js/htmx.min.js`);
cpSync("node_modules/axe-core/axe.min.js", `${out}/js/axe.min.js`);
console.log(`built ${out}`);
