/** The `runners` table: who is training, where, and on which backend. */
import type { Sql } from "../client.ts";

export async function registerRunner(sql: Sql, runner: { id: string; hostname: string; pid: number; backend: string | null; device: string | null }): Promise<void> {
  await sql`
    insert into runners (id, hostname, pid, backend, device)
    values (${runner.id}, ${runner.hostname}, ${runner.pid}, ${runner.backend}, ${runner.device})
    on conflict (id) do update set hostname = excluded.hostname, pid = excluded.pid, backend = excluded.backend,
      device = excluded.device, last_seen_at = now(), stopped_at = null`;
}

export async function touchRunner(sql: Sql, runnerId: string): Promise<void> {
  await sql`update runners set last_seen_at = now() where id = ${runnerId}`;
}

/** Marks a runner offline (clean shutdown). */
export async function stopRunner(sql: Sql, runnerId: string): Promise<void> {
  await sql`update runners set stopped_at = now(), current_trial_id = null, last_seen_at = now() where id = ${runnerId}`;
}
