import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { formatBytes, formatNumber, label, t } from "../i18n";
import { cacheGet, cachePut } from "../outbox";

export interface Dossier {
  id: string;
  status: "queued" | "running" | "done" | "failed";
  progress: number;
  stage: string | null;
  sha256: string | null;
  size: number | null;
  error: string | null;
  level: string;
  formats: string[];
  case_count: number;
  campaign_id: string | null;
  created_at: string;
}

const FORMATS = ["pdf", "geojson", "kml", "gpkg", "csv", "evidence"];
const LEVELS = ["public", "partner", "internal"];

/** Remember a requested dossier on this device (until the server lists them). */
export async function rememberDossier(id: string): Promise<void> {
  const known = (await cacheGet<string[]>("dossiers")) ?? [];
  if (!known.includes(id)) await cachePut("dossiers", [id, ...known]);
}

export function DossierStatus({ dossier }: { dossier: Dossier }) {
  return (
    <div class="dossier" data-testid="dossier-status" data-status={dossier.status}>
      <span>
        {label("dossier_status", dossier.status)} · {label("level", dossier.level)} ·{" "}
        {t("map.case_count", { count: dossier.case_count })}
      </span>
      {(dossier.status === "queued" || dossier.status === "running") && (
        <progress max={1} value={dossier.progress} aria-label={t("dossiers.progress")}>
          {formatNumber(dossier.progress, { style: "percent" })}
        </progress>
      )}
      {dossier.status === "done" && (
        <p>
          <a class="button" href={`/api/v1/dossiers/${dossier.id}/download`} download data-testid="dossier-download">
            {t("dossiers.download")}
          </a>{" "}
          {dossier.size !== null && formatBytes(dossier.size)}
          <code class="hash" dir="ltr">
            SHA-256 {dossier.sha256}
          </code>
        </p>
      )}
      {dossier.status === "failed" && (
        <p class="error" role="alert">
          {dossier.error}
        </p>
      )}
    </div>
  );
}

/** Ask for a dossier of a campaign and watch it being made. */
export function DossierRequest({ campaignId }: { campaignId: string }) {
  const [level, setLevel] = useState("public");
  const [formats, setFormats] = useState<string[]>(FORMATS);
  const [dossier, setDossier] = useState<Dossier | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    if (!dossier || dossier.status === "done" || dossier.status === "failed") return undefined;
    const timer = setTimeout(() => {
      api<Dossier>(`/api/v1/dossiers/${dossier.id}`).then(setDossier).catch(() => undefined);
    }, 1000);
    return () => clearTimeout(timer);
  }, [dossier]);

  async function submit(e: Event) {
    e.preventDefault();
    setError("");
    try {
      const d = await api<Dossier>("/api/v1/dossiers", "POST", { campaign_id: campaignId, level, formats });
      await rememberDossier(d.id);
      setDossier({ ...d, progress: d.progress ?? 0 });
    } catch (err) {
      setError(err instanceof ApiError ? err.problem.detail : String(err));
    }
  }

  return (
    <section aria-labelledby="dossier-h">
      <h2 id="dossier-h">{t("dossiers.request")}</h2>
      <form onSubmit={submit}>
        <label>
          {t("dossiers.level")}
          <select name="level" value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {label("level", l)}
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>{t("dossiers.formats")}</legend>
          <div class="checks">
            {FORMATS.map((f) => (
              <label key={f}>
                <input
                  type="checkbox"
                  name="formats"
                  value={f}
                  checked={formats.includes(f)}
                  onChange={() => setFormats(formats.includes(f) ? formats.filter((x) => x !== f) : [...formats, f])}
                />
                {label("format", f)}
              </label>
            ))}
          </div>
        </fieldset>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={!formats.length || (dossier !== null && dossier.status !== "done" && dossier.status !== "failed")}>
          {t("dossiers.request_button")}
        </button>
      </form>
      {dossier && <DossierStatus dossier={dossier} />}
    </section>
  );
}
