"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

export function NewGoalForm() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setPending(true);
    setError(null);
    try {
      const response = await fetch("/api/goals", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({
          title: String(data.get("title") ?? ""),
          description: String(data.get("description") ?? ""),
        }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        setError(typeof body.detail === "string" ? body.detail : `request failed (${response.status})`);
        return;
      }
      form.reset();
      router.refresh(); // re-render the server component list
    } catch {
      setError("network error: the goal was not saved");
    } finally {
      setPending(false);
    }
  }

  return (
    <form className="goal-form" onSubmit={onSubmit} aria-label="new goal">
      <input name="title" placeholder="A new goal" required maxLength={200} aria-label="title" />
      <textarea name="description" placeholder="Details (optional)" maxLength={5000} rows={2} aria-label="description" />
      <button type="submit" disabled={pending}>
        {pending ? "Saving…" : "Add goal"}
      </button>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}
