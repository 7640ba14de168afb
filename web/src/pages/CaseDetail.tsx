import { useEffect, useState } from "preact/hooks";
import {
  api,
  ApiError,
  OfflineError,
  type Case,
  type Evidence,
  type Me,
  type Page,
  type TimelineEvent,
} from "../api";
import { Attachments, type Capture } from "../components/Attachments";
import { CaseMap } from "../components/CaseMap";
import { formatBytes, formatDate, formatNumber, formatList, label, t } from "../i18n";
import { cacheGet, cachePut, enqueue } from "../outbox";
import { uploadEvidence } from "../api";
import { EVENT_KINDS, OUTCOMES, REMEDIES, STATUSES } from "../vocab";

function Timeline({ c, onChanged }: { c: Case; onChanged(): void }) {
  const [events, setEvents] = useState<TimelineEvent[]>([]);
  const [kind, setKind] = useState("note");
  const [form, setForm] = useState<Record<string, string>>({ occurred_on: new Date().toISOString().slice(0, 10) });
  const [error, setError] = useState("");
  const [note, setNote] = useState("");

  const load = () =>
    api<Page<TimelineEvent>>(`/api/v1/cases/${c.id}/events?limit=200`)
      .then((p) => setEvents(p.items))
      .catch(() => undefined);
  useEffect(() => void load(), [c.id, c.version]);

  async function add(event: Event) {
    event.preventDefault();
    setError("");
    setNote("");
    try {
      if (kind === "status_change") {
        await api(`/api/v1/cases/${c.id}`, "PATCH", { status: form.status, status_note: form.description || null }, {
          "If-Match": String(c.version),
        });
        onChanged();
      } else {
        const body: Record<string, string> = { kind, occurred_on: form.occurred_on, description: form.description ?? "" };
        if (kind === "remedy") body.remedy = form.remedy ?? REMEDIES[0];
        if (kind === "outcome") body.outcome = form.outcome ?? OUTCOMES[0];
        if (kind === "deadline") body.due_on = form.due_on ?? "";
        try {
          await api(`/api/v1/cases/${c.id}/events`, "POST", body);
        } catch (e) {
          if (!(e instanceof OfflineError)) throw e;
          await enqueue({ kind: "event", caseId: c.id, label: `${c.reference}: ${label("event", kind)}`, body });
          setNote(t("timeline.queued"));
        }
        await load();
      }
      setForm({ occurred_on: form.occurred_on });
    } catch (e) {
      setError(e instanceof ApiError ? e.problem.detail : String(e));
    }
  }

  const field = (name: string) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });

  return (
    <section aria-labelledby="timeline-h">
      <h2 id="timeline-h">{t("timeline.title")}</h2>
      <ol class="timeline" data-testid="timeline">
        {events.map((e) => (
          <li key={e.id}>
            <time dateTime={e.occurred_on}>{formatDate(e.occurred_on)}</time>{" "}
            <strong>{label("event", e.kind)}</strong>
            {e.remedy && ` · ${label("remedy", e.remedy)}`}
            {e.outcome && ` · ${label("outcome", e.outcome)}`}
            {e.due_on && ` · ${t("timeline.due", { date: formatDate(e.due_on) })}`}
            {e.kind === "status_change" && typeof e.details.to === "string" && ` → ${label("status", e.details.to)}`}
            {e.description && <p>{e.description}</p>}
          </li>
        ))}
      </ol>
      <form onSubmit={add} class="step-form">
        <h3>{t("timeline.add")}</h3>
        <label>
          {t("timeline.kind")}
          <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            {EVENT_KINDS.map((k) => (
              <option key={k} value={k}>
                {label("event", k)}
              </option>
            ))}
          </select>
        </label>
        {kind === "status_change" ? (
          <label>
            {t("timeline.new_status")}
            <select name="status" required value={form.status ?? ""} onChange={field("status")}>
              <option value="" disabled>
                {t("timeline.choose")}
              </option>
              {STATUSES.filter((s) => s !== c.status).map((s) => (
                <option key={s} value={s}>
                  {label("status", s)}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            {t("timeline.occurred_on")}
            <input type="date" name="occurred_on" required value={form.occurred_on} onInput={field("occurred_on")} />
          </label>
        )}
        {kind === "remedy" && (
          <label>
            {t("timeline.remedy")}
            <select name="remedy" value={form.remedy ?? REMEDIES[0]} onChange={field("remedy")}>
              {REMEDIES.map((r) => (
                <option key={r} value={r}>
                  {label("remedy", r)}
                </option>
              ))}
            </select>
          </label>
        )}
        {kind === "outcome" && (
          <label>
            {t("timeline.outcome")}
            <select name="outcome" value={form.outcome ?? OUTCOMES[0]} onChange={field("outcome")}>
              {OUTCOMES.map((r) => (
                <option key={r} value={r}>
                  {label("outcome", r)}
                </option>
              ))}
            </select>
          </label>
        )}
        {kind === "deadline" && (
          <label>
            {t("timeline.due_on")}
            <input type="date" name="due_on" required value={form.due_on ?? ""} onInput={field("due_on")} />
          </label>
        )}
        <label>
          {kind === "status_change" ? t("timeline.note") : t("timeline.description")}
          <textarea name="description" rows={2} value={form.description ?? ""} onInput={field("description")} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {note && <p role="status">{note}</p>}
        <button type="submit">{t("timeline.add_button")}</button>
      </form>
    </section>
  );
}

function EvidenceSection({ c }: { c: Case }) {
  const [items, setItems] = useState<Evidence[]>([]);
  const [files, setFiles] = useState<Capture[]>([]);
  const [message, setMessage] = useState("");
  const load = () =>
    api<Page<Evidence>>(`/api/v1/cases/${c.id}/evidence?limit=200`)
      .then((p) => setItems(p.items))
      .catch(() => undefined);
  useEffect(() => void load(), [c.id]);

  async function send() {
    setMessage("");
    for (const f of files) {
      try {
        await uploadEvidence(
          c.id,
          f.file,
          { kind: f.kind, filename: f.file.name, sha256: f.sha256, captured_at: f.capturedAt },
          (p) => setFiles((all) => all.map((x) => (x.sha256 === f.sha256 ? { ...x, progress: p } : x))),
        );
      } catch (e) {
        if (!(e instanceof OfflineError)) {
          setMessage(e instanceof ApiError ? e.problem.detail : String(e));
          return;
        }
        await enqueue({
          kind: "evidence",
          caseId: c.id,
          label: f.file.name,
          bytes: await f.file.arrayBuffer(),
          mediaType: f.file.type || "application/octet-stream",
          filename: f.file.name,
          sha256: f.sha256,
          evidenceKind: f.kind,
        });
        setMessage(t("timeline.queued"));
      }
    }
    setFiles([]);
    await load();
  }

  return (
    <section aria-labelledby="evidence-h">
      <h2 id="evidence-h">{t("evidence.title")}</h2>
      <ul class="files" data-testid="evidence-list">
        {items.map((e) => (
          <li key={e.id}>
            <a href={`/api/v1/evidence/${e.id}/content`} download>
              {e.original_filename ?? e.id}
            </a>{" "}
            · {label("evidence", e.kind)} · {formatBytes(e.size)} · {formatDate(e.received_at, true)}
            <code class="hash" dir="ltr">
              SHA-256 {e.sha256}
            </code>
          </li>
        ))}
      </ul>
      <Attachments items={files} onChange={setFiles} />
      {files.length > 0 && (
        <button type="button" onClick={() => void send()}>
          {t("evidence.send")}
        </button>
      )}
      {message && <p role="status">{message}</p>}
    </section>
  );
}

export function CaseDetail({ id, user }: { id: string; user: Me }) {
  const [c, setCase] = useState<Case | null>(null);
  const [error, setError] = useState("");
  const [refresh, setRefresh] = useState(0);

  useEffect(() => {
    api<Case>(`/api/v1/cases/${id}`)
      .then((x) => {
        setCase(x);
        void cachePut(`case:${id}`, x);
      })
      .catch(async (e) => {
        const cached = e instanceof OfflineError ? await cacheGet<Case>(`case:${id}`) : undefined;
        if (cached) setCase(cached);
        else setError(e instanceof ApiError ? e.problem.detail : t("status.offline"));
      });
  }, [id, refresh]);

  if (error) return <main id="main"><p class="error" role="alert">{error}</p></main>;
  if (!c) return <main id="main"><p role="status">{t("status.loading")}</p></main>;
  const mayEdit = user.organization_id === c.organization_id || user.role === "admin";

  return (
    <main id="main">
      <p class="ref">{c.reference}</p>
      <div class="title-row">
        <h1>{c.title}</h1>
        {mayEdit && (
          <a class="button secondary" href={`/cases/${c.id}/edit`}>
            {t("case.edit")}
          </a>
        )}
      </div>
      <dl class="facts">
        <dt>{t("cases.status")}</dt>
        <dd data-testid="case-status">{label("status", c.status)}</dd>
        <dt>{t("form.issue_types")}</dt>
        <dd>{formatList(c.issue_types.map((i) => label("issue", i)))}</dd>
        <dt>{t("form.sensitivity")}</dt>
        <dd>{label("sensitivity", c.sensitivity)}</dd>
        {c.place_name && (
          <>
            <dt>{t("form.place_name")}</dt>
            <dd>{c.place_name}</dd>
          </>
        )}
        {c.people_affected !== null && (
          <>
            <dt>{t("form.people_affected")}</dt>
            <dd>{formatNumber(c.people_affected)}</dd>
          </>
        )}
        {c.area_m2 ? (
          <>
            <dt>{t("case.area")}</dt>
            <dd>{formatNumber(c.area_m2 / 10000, { maximumFractionDigits: 1 })} ha</dd>
          </>
        ) : null}
        {c.respondents.length > 0 && (
          <>
            <dt>{t("form.respondents")}</dt>
            <dd>{c.respondents.map((r) => r.actor_name ?? r.name).join(", ")}</dd>
          </>
        )}
        <dt>{t("form.opened_on")}</dt>
        <dd>{formatDate(c.opened_on)}</dd>
        <dt>{t("case.version")}</dt>
        <dd>{formatNumber(c.version)}</dd>
      </dl>
      {c.summary && <p class="summary">{c.summary}</p>}
      <CaseMap geometry={c.geometry} />
      <Timeline c={c} onChanged={() => setRefresh((n) => n + 1)} />
      <EvidenceSection c={c} />
    </main>
  );
}
