import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
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
    api<Suggestion[]>("/api/v1/advocacy/suggestions")
      .then(setItems)
      .catch((e) => setError(e instanceof ApiError ? e.problem.detail : String(e)));
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
