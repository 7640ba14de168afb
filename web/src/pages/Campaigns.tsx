import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Case, type Page } from "../api";
import { CaseMap } from "../components/CaseMap";
import { DossierRequest } from "../components/DossierRequest";
import { formatDate, formatList, label, t } from "../i18n";

interface CampaignSummary {
  id: string;
  title: string;
  target: string | null;
  created_at: string;
  case_count: number;
}

interface Campaign extends CampaignSummary {
  rationale: string;
  organization_count: number;
  cases: { id: string; reference: string; title: string; status: string; country: string; issue_types: string[] }[];
}

export function Campaigns() {
  const [items, setItems] = useState<CampaignSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const load = (next: string | null) =>
    api<Page<CampaignSummary>>(`/api/v1/campaigns?limit=50${next ? `&cursor=${encodeURIComponent(next)}` : ""}`)
      .then((p) => {
        setItems((old) => (next ? [...old, ...p.items] : p.items));
        setCursor(p.next_cursor);
        setLoaded(true);
      })
      .catch(() => setLoaded(true));
  useEffect(() => void load(null), []);
  return (
    <main id="main">
      <h1>{t("campaigns.title")}</h1>
      {loaded && items.length === 0 && <p>{t("campaigns.none")}</p>}
      <ul class="cards" data-testid="campaigns">
        {items.map((c) => (
          <li key={c.id} class="card">
            <a href={`/campaigns/${c.id}`}>
              <strong>{c.title}</strong>
            </a>
            <div class="meta">
              {t("map.case_count", { count: c.case_count })} · {formatDate(c.created_at)}
            </div>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" class="secondary" onClick={() => void load(cursor)}>
          {t("cases.more")}
        </button>
      )}
    </main>
  );
}

export function CampaignDetail({ id }: { id: string }) {
  const [c, setCampaign] = useState<Campaign | null>(null);
  const [shapes, setShapes] = useState<GeoJSON.FeatureCollection | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api<Campaign>(`/api/v1/campaigns/${id}`)
      .then(async (campaign) => {
        setCampaign(campaign);
        const cases = await Promise.all(
          campaign.cases.slice(0, 100).map((x) => api<Case>(`/api/v1/cases/${x.id}`).catch(() => null)),
        );
        setShapes({
          type: "FeatureCollection",
          features: cases
            .filter((x): x is Case => x !== null)
            .map((x) => ({ type: "Feature", properties: { reference: x.reference }, geometry: x.geometry })),
        });
      })
      .catch((e) => setError(e instanceof ApiError ? e.problem.detail : String(e)));
  }, [id]);
  if (error) return <main id="main"><p class="error" role="alert">{error}</p></main>;
  if (!c) return <main id="main"><p role="status">{t("status.loading")}</p></main>;
  return (
    <main id="main">
      <h1>{c.title}</h1>
      <p>{c.rationale}</p>
      {c.target && (
        <p>
          {t("campaigns.target")}: {c.target}
        </p>
      )}
      <p class="meta">
        {t("map.case_count", { count: c.case_count })} · {t("map.org_count", { count: c.organization_count })}
      </p>
      {shapes && <CaseMap features={shapes} />}
      <h2>{t("campaigns.cases")}</h2>
      <ul class="cards" data-testid="campaign-cases">
        {c.cases.map((x) => (
          <li key={x.id} class="card">
            <a href={`/cases/${x.id}`}>
              <span class="ref">{x.reference}</span> {x.title}
            </a>
            <div class="meta">
              {label("status", x.status)} · {x.country} · {formatList(x.issue_types.map((i) => label("issue", i)))}
            </div>
          </li>
        ))}
      </ul>
      <DossierRequest campaignId={c.id} />
    </main>
  );
}
