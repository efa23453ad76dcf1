import { listGoals, type GoalPage } from "@/lib/goals";
import { NewGoalForm } from "./new-goal-form";

// Rendered per request on the server: the list comes straight from BACKEND_URL.
export const dynamic = "force-dynamic";

export default async function GoalsPage() {
  let page: GoalPage | null = null;
  let error: string | null = null;
  try {
    page = await listGoals();
  } catch (reason) {
    error = reason instanceof Error ? reason.message : String(reason);
  }
  return (
    <>
      <h1>Goals</h1>
      <NewGoalForm />
      {error !== null ? (
        <p className="error" role="alert">
          Goals are unavailable right now ({error}). Try again shortly.
        </p>
      ) : page && page.items.length > 0 ? (
        <ul className="goals" aria-label="goals">
          {page.items.map((goal) => (
            <li key={goal.id}>
              <strong>{goal.title}</strong>
              {goal.description ? <p>{goal.description}</p> : null}
              <progress max={100} value={goal.progress} aria-label={`${goal.title} progress`} />
              <div className="meta">
                {goal.status} · {goal.progress}%{goal.target_date ? ` · by ${goal.target_date}` : ""}
              </div>
            </li>
          ))}
        </ul>
      ) : (
        <p>No goals yet: add the first one above.</p>
      )}
      {page ? <p className="meta">{page.total} goal(s)</p> : null}
    </>
  );
}
