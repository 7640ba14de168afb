import { useEffect, useState } from "preact/hooks";
import { api, ApiError, request } from "../api";
import { formatNumber, label, t } from "../i18n";
import { navigate } from "../router";

interface Suggestion {
  reason: string;
  case_ids: string[];
  organization_ids: string[];
  respondent?: { name?: string } | null;
  score: number;
  explanation: string;
}

export function Suggestions() {
  const [items, setItems] = useState<Suggestion[] | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState<number | null>(null);

  useEffect(() => {
    let timer = 0;
    const load = async (attempt: number) => {
      let response = await request("/api/v1/advocacy/suggestions?limit=1000");
      // reading never recomputes: on a stale first answer, ask for a refresh and read again
      if (attempt === 0 && response.headers.get("X-Suggestions-State") === "stale") {
        const refreshed = await api<{ state: string }>("/api/v1/advocacy/suggestions/refresh", "POST");
        if (refreshed.state !== "queued") response = await request("/api/v1/advocacy/suggestions?limit=1000");
      }
      setItems((await response.json()) as Suggestion[]);
      // a large corps recomputes in the background: ask again until the answer is fresh
      if (response.headers.get("X-Suggestions-State") === "stale" && attempt < 30)
        timer = window.setTimeout(() => void load(attempt + 1), 2000);
    };
    load(0).catch((e) => setError(e instanceof ApiError ? e.problem.detail : String(e)));
    return () => clearTimeout(timer);
  }, []);

  async function makeCampaign(s: Suggestion, index: number) {
    setBusy(index);
    try {
      const title = s.respondent?.name
        ? t("suggestions.campaign_title_respondent", { name: s.respondent.name })
        : t("suggestions.campaign_title", { reason: label("reason", s.reason) });
      const campaign = await api<{ id: string }>("/api/v1/campaigns", "POST", {
        title,
        rationale: s.explanation,
        case_ids: s.case_ids,
      });
      navigate(`/campaigns/${campaign.id}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.problem.detail : String(e));
      setBusy(null);
    }
  }

  return (
    <main id="main">
      <h1>{t("suggestions.title")}</h1>
      <p>{t("suggestions.intro")}</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {items === null && !error && <p role="status">{t("status.loading")}</p>}
      {items?.length === 0 && <p>{t("suggestions.none")}</p>}
      <ul class="cards" data-testid="suggestions">
        {items?.map((s, i) => (
          <li key={i} class="card">
            <strong>{label("reason", s.reason)}</strong>
            <p>{s.explanation}</p>
            <p class="meta">
              {t("suggestions.counts", { cases: s.case_ids.length, orgs: s.organization_ids.length })} ·{" "}
              {t("suggestions.score", { score: formatNumber(s.score, { maximumFractionDigits: 2 }) })}
            </p>
            <button type="button" disabled={busy !== null} onClick={() => void makeCampaign(s, i)}>
              {t("suggestions.make_campaign")}
            </button>
          </li>
        ))}
      </ul>
    </main>
  );
}
