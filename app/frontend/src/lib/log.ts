// Structured logs: one JSON object per line on stdout (time, level, msg, service, then the fields),
// the frontend's counterpart of the backend's JsonFormatter (app/backend/goaltrajectory/logging.py).
// LOG_LEVEL (debug, info, warning, error; default info) drops lines below it.

const LEVELS = { debug: 10, info: 20, warning: 30, error: 40 } as const;
export type Level = keyof typeof LEVELS;

function threshold(): number {
  const name = (process.env.LOG_LEVEL || "info").trim().toLowerCase();
  const level = name === "warn" ? "warning" : name;
  return level in LEVELS ? LEVELS[level as Level] : LEVELS.info;
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold()) return;
  const entry = { time: new Date().toISOString(), level, msg, service: "goaltrajectory-frontend", ...fields };
  // Written directly (not console.*), so nothing in the dev server can prefix or colour the line.
  process.stdout.write(`${JSON.stringify(entry)}\n`);
}
