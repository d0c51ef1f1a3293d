// The server's side of the typed requests and notifications in protocol.ts: a handler's params and result, and a
// notification's params, are the ones the protocol declares.
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import type { Notification, Request } from './protocol.js';

export function onRequest<P, R>(connection: Connection, request: Request<P, R>, handler: (params: P, token: CancellationToken) => R | Promise<R>): void {
  connection.onRequest(request.method, (params: P, token: CancellationToken): Promise<R> => Promise.resolve(handler(params, token)));
}

/** Sends a notification; a client that went away is not an error worth more than that. */
export function notify<P>(connection: Connection, notification: Notification<P>, params: P): void {
  connection.sendNotification(notification.method, params).catch(() => undefined);
}
