/**
 * The Prometheus scrape endpoint (GET /metrics), on a listener of its own with its own small
 * connection budget.
 *
 * The exporter's built-in server takes every connection it is offered: set to 0.0.0.0 for an
 * in-cluster scraper, anything that reaches the port could open connections until the process
 * ran out of file descriptors, and then /health (probe port included) and every caller failed
 * with it. Here at most METRICS_MAX_CONNECTIONS are open (a scraper needs one; the oldest idle
 * one makes room for a new one), taken from the descriptors the main bound keeps in reserve.
 */
import { createServer, type Server } from "node:http";
import type { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { guardConnections, RESERVED_DESCRIPTORS } from "../http/connections.js";

const METRICS_MAX_CONNECTIONS = Math.min(8, RESERVED_DESCRIPTORS / 4);
const METRICS_PATH = "/metrics";

/** Serves `exporter` on host:port; resolves once listening, rejects with the listen error. */
export async function serveMetrics(
  exporter: PrometheusExporter,
  host: string,
  port: number,
): Promise<Server> {
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0];
    if (req.method === "GET" && path === METRICS_PATH) {
      exporter.getMetricsRequestHandler(req, res);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  // A scraper sends its request at once: a connection that does not is cut soon.
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  guardConnections(server, METRICS_MAX_CONNECTIONS);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Like the exporter's own server: it never holds the process open.
  server.unref();
  return server;
}

/** Closes the endpoint and its connections. */
export function closeMetrics(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
