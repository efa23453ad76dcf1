import { backendTimeoutMs, backendUrl } from "./backend";

export type Goal = {
  id: string;
  title: string;
  description: string;
  status: "active" | "completed" | "abandoned";
  progress: number;
  target_date: string | null;
  created_at: string;
  updated_at: string;
};

export type GoalPage = { items: Goal[]; total: number; limit: number; offset: number };

/** Server-side: the newest goals straight from the backend (never cached). */
export async function listGoals(limit = 100): Promise<GoalPage> {
  const response = await fetch(`${backendUrl()}/api/goals?limit=${limit}`, {
    cache: "no-store",
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(backendTimeoutMs()),
  });
  if (!response.ok) {
    throw new Error(`backend answered ${response.status}`);
  }
  return (await response.json()) as GoalPage;
}
