// The little the pages do with JavaScript; every form works without it.

// Move focus to the error summary, so screen readers and keyboards start at the problem.
const summary = document.querySelector('[data-focus-on-load]');
if (summary instanceof HTMLElement) summary.focus();

// A "Show password" button under each password field that asks for one.
for (const input of document.querySelectorAll('input[data-toggle-password]')) {
  if (!(input instanceof HTMLInputElement)) continue;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button button-secondary password-toggle';
  button.setAttribute('aria-controls', input.id);
  button.textContent = input.dataset.show || 'Show password';
  button.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    button.textContent = (show ? input.dataset.hide : input.dataset.show) || button.textContent;
  });
  input.insertAdjacentElement('afterend', button);
}

// A time the server wrote in UTC (when a block ends), shown in the reader's own time zone and language.
for (const el of document.querySelectorAll('time[data-local-time]')) {
  const at = new Date(el.getAttribute('datetime') || '');
  if (Number.isNaN(at.getTime())) continue;
  el.textContent = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: 'full', timeStyle: 'short' }).format(at);
}
