import { lang, languages, setLanguage, t } from "../i18n";
import { useSignal } from "../signal";

export function LanguageSelect() {
  const current = useSignal(lang);
  return (
    <label class="lang">
      <span class="visually-hidden">{t("nav.language")}</span>
      <select value={current} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value)}>
        {languages.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.name}
          </option>
        ))}
      </select>
    </label>
  );
}
