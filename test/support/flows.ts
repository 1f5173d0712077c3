import { expect } from 'vitest';
import type { OutgoingMessage } from '../../src/ports.js';
import { NEW_PASSWORD, api, bearer, type TestServer } from './app.js';
import type { Browser } from './http.js';
import { pendingMessageCount } from './queries.js';

// Drivers of the reset journey over the JSON API and the pages, and the codes and messages it sends.

export interface FlowHandle {
  id: string;
  token: string;
  body: any;
}

export async function startFlow(server: TestServer, username: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<FlowHandle> {
  const res = await api(server.url, 'POST', '/api/v1/reset', { username, ...extra }, headers);
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id, token: res.json.token, body: res.json };
}

export const challenge = (server: TestServer, flow: FlowHandle, method: string, contact?: unknown, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', `/api/v1/reset/${flow.id}/challenge`, contact === undefined ? { method } : { method, contact }, { ...bearer(flow.token), ...headers });

export const verify = (server: TestServer, flow: FlowHandle, method: string, code: string, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method, code }, { ...bearer(flow.token), ...headers });

export const setPassword = (server: TestServer, flow: FlowHandle, newPassword: string, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', `/api/v1/reset/${flow.id}/password`, { newPassword }, { ...bearer(flow.token), ...headers });

export const signIn = (server: TestServer, username: string, password: string, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', '/api/v1/session', { username, password }, headers);

const codesTo = (server: TestServer, to: string) => server.transport.sent.filter((m) => m.to === to && m.code);

/** Waits until one more code than `before` has been delivered to `to`, draining the queue meanwhile. */
export async function waitForCode(server: TestServer, to: string, before: number, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = codesTo(server, to);
    if (mine.length > before) return mine[mine.length - 1]!.code!;
    if (Date.now() > deadline) throw new Error(`no code delivered to ${to}`);
    await server.queue.drainOnce();
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Asks for a code by `method` to `contact` and returns the code delivered there. */
export async function requestCode(server: TestServer, flow: FlowHandle, contact: string, method = 'email', headers: Record<string, string> = {}): Promise<string> {
  const before = codesTo(server, contact).length;
  const res = await challenge(server, flow, method, contact, headers);
  expect(res.status, res.text).toBe(202);
  return waitForCode(server, contact, before);
}

/** Start → e-mail code → verify → new password; returns the flow. */
export async function fullReset(server: TestServer, username: string, email: string, newPassword = NEW_PASSWORD, headers: Record<string, string> = {}): Promise<FlowHandle> {
  const flow = await startFlow(server, username, headers);
  const code = await requestCode(server, flow, email, 'email', headers);
  const v = await verify(server, flow, 'email', code, headers);
  expect(v.status, v.text).toBe(200);
  expect(v.json.state).toBe('set_password');
  const p = await setPassword(server, flow, newPassword, headers);
  expect(p.status, p.text).toBe(200);
  expect(p.json.state).toBe('completed');
  return flow;
}

/** Lets every queued message go out. */
export async function drain(server: TestServer): Promise<void> {
  for (let i = 0; i < 20 && (await pendingMessageCount(server.store)) > 0; i++) {
    await server.queue.drainOnce();
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function messagesTo(server: TestServer, to: string): OutgoingMessage[] {
  return server.transport.sent.filter((m) => m.to === to);
}

/** Resets a password through the pages, as a person would: start, code, password, done. */
export async function pageReset(server: TestServer, b: Browser, username: string, email: string, newPassword: string): Promise<void> {
  expect((await b.get('/reset')).status).toBe(200);
  const started = await b.post('/reset', { username, intent: 'reset' });
  expect(started.status, started.text.slice(0, 500)).toBe(303);
  expect(started.headers.location).toBe('/reset/method');
  await b.get('/reset/method');
  const before = server.transport.sent.filter((m) => m.to === email && m.code).length;
  const sent = await b.post('/reset/method', { method: 'email', contact_email: email });
  expect(sent.status, sent.text.slice(0, 500)).toBe(303);
  const code = await waitForCode(server, email, before);
  await b.get(sent.headers.location as string);
  const verified = await b.post('/reset/code', { method: 'email', code });
  expect(verified.status, verified.text.slice(0, 500)).toBe(303);
  expect(verified.headers.location).toBe('/reset/password');
  await b.get('/reset/password');
  const done = await b.post('/reset/password', { newPassword, confirmPassword: newPassword });
  expect(done.status, done.text.slice(0, 500)).toBe(303);
  expect(done.headers.location).toBe('/reset/done');
  expect((await b.get('/reset/done')).status).toBe(200);
}
