/**
 * The daemon's HTTP server: plain `node:http`, no framework, since it serves three read-only endpoints.
 * Binding is awaited so a taken port fails start-up with a clear error instead of an unhandled `error`
 * event, and port 0 reports the port the OS chose.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  /** 0 asks the OS for a free port; `HttpServer.port` says which. */
  port: number;
  /** The interface to bind (`HTTP_HOST`); `0.0.0.0` for every one, e.g. in a container. */
  host: string;
  handler: RequestHandler;
  /** Told about a handler that threw; the client gets a 500 either way. @default nothing */
  onError?: (error: unknown) => void;
}

export interface HttpServer {
  /** The bound port (the OS's choice when 0 was asked for). */
  readonly port: number;
  /** Stops accepting connections and closes idle keep-alive ones; resolves when all are closed. */
  close(): Promise<void>;
}

/**
 * Starts listening and resolves once bound.
 * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be bound.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const server: Server = createServer((request, response) => {
    Promise.resolve()
      .then(() => options.handler(request, response))
      .catch((error: unknown) => {
        options.onError?.(error);
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('internal error\n');
      });
  });
  // Probes and scrapers open short connections; a long keep-alive would only hold shutdown up.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port: options.port, host: options.host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => options.onError?.(error));

  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
