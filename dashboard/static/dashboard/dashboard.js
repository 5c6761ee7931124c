// Two small behaviours, no framework: copy buttons (a field's value or a snippet's text) and confirmation prompts on destructive forms.
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
