/**
 * Passkeys in the browser: creating one on /account and using one at a reset gate. Bundled by
 * build.ts into public/build/passkey.js, loaded (type=module) only on those two pages.
 *
 * The markup (views/account.ts, views/reset.ts) is a form with the server's WebAuthn options:
 *   <form data-passkey="create|get" data-options='{…}' data-failed="…"> <input type="hidden" name="response"> …
 * Sending the form runs the browser's ceremony first, puts its JSON answer in `response` and
 * then sends it; the server checks everything. A cancelled or refused ceremony shows the
 * form's own message and leaves the button to try again.
 */
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser';

// The project compiles without the DOM types; this is the little of the DOM used here.
interface Elem {
  hidden: boolean;
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): Elem | null;
  addEventListener(type: string, listener: (e: { preventDefault(): void }) => void): void;
  focus(): void;
}
interface FormElem extends Elem {
  submit(): void;
}
interface InputElem extends Elem {
  value: string;
}
declare const document: { querySelectorAll(selector: string): Iterable<FormElem> };

for (const form of document.querySelectorAll('form[data-passkey]')) {
  const kind = form.getAttribute('data-passkey');
  const status = form.querySelector('[data-passkey-status]');
  const field = form.querySelector('input[name="response"]') as InputElem | null;
  const say = (text: string | null) => {
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  };
  if (!browserSupportsWebAuthn()) {
    say(form.getAttribute('data-unsupported'));
    continue;
  }
  let ready = false;
  form.addEventListener('submit', (e) => {
    if (ready) return;
    e.preventDefault();
    say(null);
    void (async () => {
      try {
        const optionsJSON = JSON.parse(form.getAttribute('data-options') ?? '{}');
        const answer = kind === 'create' ? await startRegistration({ optionsJSON }) : await startAuthentication({ optionsJSON });
        if (field) field.value = JSON.stringify(answer);
        ready = true;
        form.submit();
      } catch {
        say(form.getAttribute('data-failed'));
        status?.focus();
      }
    })();
  });
}
