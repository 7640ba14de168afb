import type { Case, CaseBody } from "../api";
import { t } from "../i18n";

const FIELDS: (keyof CaseBody)[] = [
  "title",
  "summary",
  "issue_types",
  "sensitivity",
  "place_name",
  "country",
  "people_affected",
  "respondents",
  "opened_on",
  "geometry",
];

function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value))
    return value.map((v) => (typeof v === "object" && v && "name" in v ? (v as { name: string }).name : String(v))).join(", ");
  if (typeof value === "object") return JSON.stringify(value).slice(0, 120);
  return String(value);
}

/** Someone saved the case since it was read: both versions side by side, the user decides. */
export function Conflict(props: {
  mine: Partial<CaseBody>;
  theirs: Case;
  onKeepMine(): void;
  onTakeTheirs(): void;
}) {
  const differing = FIELDS.filter((f) => show(props.mine[f]) !== show(props.theirs[f]));
  return (
    <section class="conflict" role="alert" aria-labelledby="conflict-h" data-testid="conflict">
      <h2 id="conflict-h">{t("conflict.title")}</h2>
      <p>{t("conflict.explain", { version: props.theirs.version })}</p>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("conflict.field")}</th>
            <th scope="col">{t("conflict.mine")}</th>
            <th scope="col">{t("conflict.theirs")}</th>
          </tr>
        </thead>
        <tbody>
          {differing.map((f) => (
            <tr key={f}>
              <th scope="row">{t(`form.${f}` as "form.title")}</th>
              <td data-testid={`mine-${f}`}>{show(props.mine[f])}</td>
              <td data-testid={`theirs-${f}`}>{show(props.theirs[f])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row">
        <button type="button" onClick={props.onKeepMine}>
          {t("conflict.keep_mine")}
        </button>
        <button type="button" class="secondary" onClick={props.onTakeTheirs}>
          {t("conflict.take_theirs")}
        </button>
      </div>
    </section>
  );
}
