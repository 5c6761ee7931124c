// Four small behaviours, no framework: copy buttons (a field's value or a snippet's text), confirmation prompts on destructive forms, a line saying why an htmx request showed nothing, and the focus on what a refused form got wrong.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  const text = "value" in field ? field.value : field.textContent;  // a key's field, or a snippet's <pre>
  if ("select" in field) field.select(); else window.getSelection().selectAllChildren(field);
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
// htmx swaps in 2xx and 400 answers only (htmx-config in base.html); anything else (a 403 for a page whose form token
// is out of date, a 5xx, no answer at all) left the button doing nothing. The part the answer was for says so instead.
const unanswered = (xhr) => {
  if (!xhr || !xhr.status) {
    return "The server could not be reached: check that it is running, then try again.";
  }
  if (xhr.status === 403) {
    return "Refused (403): this page is out of date (you logged in again since it was opened, or your account " +
      "changed). Reload it and try again.";
  }
  const said = `The server answered ${xhr.status}${xhr.statusText ? " " + xhr.statusText : ""}`;
  if (xhr.status < 500) return `${said}. Reload the page and try again.`;
  const id = xhr.getResponseHeader("X-Request-ID");
  return `${said}${id ? ` (request id ${id}, in its log)` : ""}. Try again, or reload the page.`;
};
for (const name of ["htmx:responseError", "htmx:sendError"]) {
  document.addEventListener(name, (event) => {
    const target = event.detail.target;
    if (!target) return;
    const line = document.createElement("p");
    line.className = "error";
    line.setAttribute("role", "alert");
    line.textContent = unanswered(name === "htmx:responseError" ? event.detail.xhr : null);
    target.replaceChildren(line);
  });
}
// A page showing a refused form: the keyboard's focus goes to the first field refused (a refusal of the form as a
// whole: its first field), beside what the page says is wrong. It was at the top of the page, a keyboard user tabbing
// through every link of the menu to get back to the field.
const refused = document.querySelector('[aria-invalid="true"]') ||
  document.querySelector("form .errors")?.closest("form").querySelector("input:not([type=hidden]), textarea, select");
if (refused) refused.focus();
