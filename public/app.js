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

// The demo outbox: a code copied with one tap; said politely once it is on the clipboard.
for (const button of document.querySelectorAll('button[data-copy]')) {
  if (!(button instanceof HTMLButtonElement)) continue;
  const code = document.getElementById(button.dataset.copy || '');
  const status = button.parentElement && button.parentElement.querySelector('[data-copy-status]');
  if (!code || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code.textContent || '');
      if (status) status.textContent = button.dataset.copied || '';
    } catch {
      // refused (no permission): select it, so the phone's own copy is one tap away
      const range = document.createRange();
      range.selectNodeContents(code);
      const selection = getSelection();
      if (selection) selection.removeAllRanges(), selection.addRange(range);
    }
  });
}

// A time the server wrote in UTC (when a block ends), shown in the reader's own time zone and language.
for (const el of document.querySelectorAll('time[data-local-time]')) {
  const at = new Date(el.getAttribute('datetime') || '');
  if (Number.isNaN(at.getTime())) continue;
  el.textContent = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: 'full', timeStyle: 'short' }).format(at);
}

// A form that takes a while (the people import) says so while the server works, and is sent once.
// The count is of the chosen file's rows outside quotes, less the header: what the server will read.
const countRows = (text) => {
  let rows = 0;
  let quoted = false;
  let filled = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === '\n' || c === '\r')) {
      if (filled) rows++;
      filled = false;
    } else if (c.trim() !== '') filled = true;
  }
  return rows + (filled ? 1 : 0) - 1;
};
for (const form of document.querySelectorAll('form[data-busy]')) {
  if (!(form instanceof HTMLFormElement)) continue;
  let count = 0;
  const file = form.querySelector('input[type=file][data-count-rows]');
  if (file instanceof HTMLInputElement)
    file.addEventListener('change', async () => {
      count = 0;
      const f = file.files && file.files[0];
      if (f && f.size <= 2 * 1024 * 1024) count = countRows(await f.text());
      form.dataset.rows = String(count);
    });
  form.addEventListener('submit', (event) => {
    if (form.getAttribute('aria-busy') === 'true') {
      event.preventDefault();
      return;
    }
    form.setAttribute('aria-busy', 'true');
    const status = form.querySelector('[data-busy-status]');
    if (!status) return;
    const text = count > 1 && form.dataset.busyCount ? form.dataset.busyCount.replace('{{count}}', String(count)) : form.dataset.busy || '';
    const bar = document.createElement('progress');
    bar.setAttribute('aria-label', text);
    status.replaceChildren(bar, ' ', text);
  });
}
