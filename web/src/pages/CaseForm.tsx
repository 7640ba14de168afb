import { useEffect, useState } from "preact/hooks";
import {
  api,
  ApiError,
  OfflineError,
  uploadEvidence,
  type Case,
  type CaseBody,
  type Me,
  type Respondent,
} from "../api";
import { Attachments, type Capture } from "../components/Attachments";
import { Conflict } from "../components/Conflict";
import { PlacePicker } from "../components/PlacePicker";
import { uuid4 } from "../hash";
import { label, t } from "../i18n";
import { cacheGet, cachePut, enqueue } from "../outbox";
import { navigate } from "../router";
import { PRECISIONS, SENSITIVITIES, issueTypes } from "../vocab";

function blank(): CaseBody {
  return {
    title: "",
    summary: "",
    issue_types: [],
    sensitivity: "normal",
    geometry: null as unknown as GeoJSON.Geometry,
    location_precision: "exact",
    place_name: null,
    country: "",
    people_affected: null,
    respondents: [],
    opened_on: new Date().toISOString().slice(0, 10),
  };
}

function editable(c: Case): CaseBody {
  const { title, summary, issue_types, sensitivity, geometry, location_precision } = c;
  return {
    title,
    summary,
    issue_types,
    sensitivity,
    geometry,
    location_precision,
    place_name: c.place_name,
    country: c.country,
    people_affected: c.people_affected,
    respondents: c.respondents.map(({ name, kind }) => ({ name, kind })),
    opened_on: c.opened_on,
  };
}

async function organizationCountry(user: Me): Promise<string> {
  try {
    const org = await api<{ country: string }>(`/api/v1/organizations/${user.organization_id}`);
    await cachePut("org-country", org.country);
    return org.country;
  } catch {
    return (await cacheGet<string>("org-country")) ?? "";
  }
}

/** Queue a case and its files for the outbox. */
async function enqueueCase(body: CaseBody, files: Capture[]): Promise<void> {
  await enqueue({ kind: "case", caseId: body.id as string, label: body.title, body });
  for (const f of files) {
    await enqueue({
      kind: "evidence",
      caseId: body.id as string,
      label: f.file.name,
      bytes: await f.file.arrayBuffer(),
      mediaType: f.file.type || "application/octet-stream",
      filename: f.file.name,
      sha256: f.sha256,
      evidenceKind: f.kind,
    });
  }
}

export function CaseForm({ user, editId }: { user: Me; editId?: string }) {
  const [body, setBody] = useState<CaseBody>(blank);
  const [original, setOriginal] = useState<Case | null>(null);
  const [types, setTypes] = useState<string[]>([]);
  const [files, setFiles] = useState<Capture[]>([]);
  const [respondentText, setRespondentText] = useState("");
  const [lookAlikes, setLookAlikes] = useState<string[]>([]);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [conflict, setConflict] = useState<Case | null>(null);
  const [ready, setReady] = useState(!editId);

  useEffect(() => void issueTypes().then(setTypes).catch(() => undefined), []);
  useEffect(() => {
    if (editId) {
      void api<Case>(`/api/v1/cases/${editId}`).then((c) => {
        setOriginal(c);
        setBody(editable(c));
        setRespondentText(c.respondents.map((r) => r.name).join("\n"));
        setReady(true);
      });
    } else {
      void organizationCountry(user).then((country) => setBody((b) => ({ ...b, country: b.country || country })));
    }
  }, [editId]);

  useEffect(() => {
    const last = respondentText.split("\n").pop()?.trim() ?? "";
    if (last.length < 2) return undefined;
    const timer = setTimeout(() => {
      api<{ name: string; spellings: string[] }[]>(`/api/v1/actors?q=${encodeURIComponent(last)}`)
        .then((actors) => {
          const names = new Set(actors.flatMap((a) => [a.name, ...a.spellings]));
          names.delete(last);
          setLookAlikes([...names].slice(0, 8));
        })
        .catch(() => setLookAlikes([]));
    }, 300);
    return () => clearTimeout(timer);
  }, [respondentText]);

  const set = (name: keyof CaseBody) => (e: Event) => {
    const value = (e.target as HTMLInputElement).value;
    setBody({ ...body, [name]: value === "" && name !== "title" && name !== "summary" ? null : value });
  };

  function toggleType(code: string) {
    const has = body.issue_types.includes(code);
    setBody({ ...body, issue_types: has ? body.issue_types.filter((c) => c !== code) : [...body.issue_types, code] });
  }

  function respondents(): Respondent[] {
    return respondentText
      .split("\n")
      .map((name) => name.trim())
      .filter((name) => name.length >= 2)
      .map((name) => ({ name, kind: "company" }));
  }

  async function uploadAll(caseId: string, captures: Capture[]): Promise<Capture[]> {
    const left = [...captures];
    while (left.length) {
      const c = left[0];
      try {
        await uploadEvidence(
          caseId,
          c.file,
          { kind: c.kind, filename: c.file.name, sha256: c.sha256, captured_at: c.capturedAt },
          (p) => setFiles((all) => all.map((x) => (x === c ? { ...x, progress: p } : x))),
        );
        left.shift();
      } catch (e) {
        if (e instanceof OfflineError) return left;
        throw e;
      }
    }
    return left;
  }

  async function submit(event: Event) {
    event.preventDefault();
    setError("");
    if (!body.geometry) return setError(t("form.need_place"));
    if (!body.issue_types.length) return setError(t("form.need_issue"));
    const full: CaseBody = {
      ...body,
      people_affected: body.people_affected === null ? null : Number(body.people_affected),
      country: body.country.toUpperCase(),
      respondents: respondents(),
    };
    setBusy(true);
    try {
      if (original) {
        await save(full, original.version);
        return;
      }
      full.id = uuid4();
      try {
        await api<Case>("/api/v1/cases", "POST", full);
      } catch (e) {
        if (!(e instanceof OfflineError)) throw e;
        await enqueueCase(full, files);
        navigate("/outbox?saved=1");
        return;
      }
      const left = await uploadAll(full.id, files);
      for (const f of left) {
        await enqueue({
          kind: "evidence",
          caseId: full.id,
          label: f.file.name,
          bytes: await f.file.arrayBuffer(),
          mediaType: f.file.type || "application/octet-stream",
          filename: f.file.name,
          sha256: f.sha256,
          evidenceKind: f.kind,
        });
      }
      navigate(`/cases/${full.id}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.problem.detail : t("form.failed"));
    } finally {
      setBusy(false);
    }
  }

  async function save(full: CaseBody, version: number) {
    const { id: _id, ...changes } = full;
    try {
      await api<Case>(`/api/v1/cases/${editId}`, "PATCH", changes, { "If-Match": String(version) });
      navigate(`/cases/${editId}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        setConflict(await api<Case>(`/api/v1/cases/${editId}`));
        return;
      }
      throw e;
    }
  }

  if (!ready) return <main id="main"><p role="status">{t("status.loading")}</p></main>;

  return (
    <main id="main">
      <h1>{editId ? t("form.edit_title") : t("form.new_title")}</h1>
      {conflict && (
        <Conflict
          mine={{ ...body, respondents: respondents() }}
          theirs={conflict}
          onKeepMine={() => {
            const latest = conflict;
            setConflict(null);
            setBusy(true);
            void save({ ...body, respondents: respondents() }, latest.version)
              .catch((e) => setError(e instanceof ApiError ? e.problem.detail : t("form.failed")))
              .finally(() => setBusy(false));
          }}
          onTakeTheirs={() => navigate(`/cases/${editId}`)}
        />
      )}
      <form onSubmit={submit} class="case-form" novalidate>
        <label>
          {t("form.title")}
          <input name="title" required minLength={3} maxLength={300} value={body.title} onInput={set("title")} />
        </label>
        <fieldset>
          <legend>{t("form.issue_types")}</legend>
          <div class="checks">
            {types.map((code) => (
              <label key={code}>
                <input
                  type="checkbox"
                  name="issue_types"
                  value={code}
                  checked={body.issue_types.includes(code)}
                  onChange={() => toggleType(code)}
                />
                {label("issue", code)}
              </label>
            ))}
          </div>
        </fieldset>
        <label>
          {t("form.summary")}
          <textarea name="summary" rows={4} value={body.summary} onInput={set("summary")} />
        </label>
        <label>
          {t("form.respondents")}
          <textarea
            name="respondents"
            rows={2}
            value={respondentText}
            aria-describedby="respondents-help"
            onInput={(e) => setRespondentText((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        <p id="respondents-help" class="hint">
          {t("form.respondents_help")}
        </p>
        {lookAlikes.length > 0 && (
          <div class="suggest" aria-live="polite">
            <span>{t("form.known_as")}</span>
            {lookAlikes.map((name) => (
              <button
                type="button"
                class="chip"
                key={name}
                onClick={() => {
                  const lines = respondentText.split("\n");
                  lines[lines.length - 1] = name;
                  setRespondentText(lines.join("\n"));
                  setLookAlikes([]);
                }}
              >
                {name}
              </button>
            ))}
          </div>
        )}
        <div class="grid2">
          <label>
            {t("form.people_affected")}
            <input
              type="number"
              name="people_affected"
              min={0}
              inputMode="numeric"
              value={body.people_affected ?? ""}
              onInput={set("people_affected")}
            />
          </label>
          <label>
            {t("form.sensitivity")}
            <select name="sensitivity" value={body.sensitivity} onChange={set("sensitivity")}>
              {SENSITIVITIES.map((s) => (
                <option key={s} value={s}>
                  {label("sensitivity", s)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("form.country")}
            <input
              name="country"
              required
              maxLength={2}
              autocomplete="off"
              value={body.country}
              onInput={set("country")}
            />
          </label>
          <label>
            {t("form.opened_on")}
            <input type="date" name="opened_on" value={body.opened_on ?? ""} onInput={set("opened_on")} />
          </label>
        </div>
        <label>
          {t("form.place_name")}
          <input name="place_name" value={body.place_name ?? ""} onInput={set("place_name")} />
        </label>
        <label>
          {t("form.precision")}
          <select name="location_precision" value={body.location_precision} onChange={set("location_precision")}>
            {PRECISIONS.map((p) => (
              <option key={p} value={p}>
                {label("precision", p)}
              </option>
            ))}
          </select>
        </label>
        <PlacePicker initial={original?.geometry} onChange={(geometry) => setBody((b) => ({ ...b, geometry: geometry as GeoJSON.Geometry }))} />
        {!editId && <Attachments items={files} onChange={setFiles} />}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {editId ? t("form.save") : t("form.record")}
        </button>
      </form>
    </main>
  );
}
