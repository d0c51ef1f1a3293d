// The server's side of the typed requests, notifications and progress streams in protocol.ts: a handler's params and
// result, a notification's params and a progress report's value are the ones the protocol declares.
import { ProgressType, type CancellationToken, type Connection, type ProgressToken, type RequestParam } from 'vscode-languageserver/node';
import type { Notification, Progress, Request } from './protocol.js';

export function onRequest<P, R>(connection: Connection, request: Request<P, R>, handler: (params: P, token: CancellationToken) => R | Promise<R>): void {
  connection.onRequest(request.method, (params: P, token: CancellationToken): Promise<R> => Promise.resolve(handler(params, token)));
}

export function onNotification<P>(connection: Connection, notification: Notification<P>, handler: (params: P) => void): void {
  connection.onNotification(notification.method, handler);
}

/** Sends a notification; a client that went away is not an error worth more than that. */
export function notify<P>(connection: Connection, notification: Notification<P>, params: P): void {
  connection.sendNotification(notification.method, params).catch(() => undefined);
}

/**
 * Sends a progress report of the type its stream declares; a client that went away, as for notify. (The library
 * types the value RequestParam<V>, a conditional type TypeScript leaves open for a generic V: it is V here.)
 */
export function report<V>(connection: Connection, _progress: Progress<V>, token: ProgressToken, value: V): void {
  connection.sendProgress(new ProgressType<V>(), token, value as RequestParam<V>).catch(() => undefined);
}
