import { useEffect, useState } from "preact/hooks";
import { api, ApiError, signOut, type Me } from "../api";
import { label, t } from "../i18n";
import { LanguageSelect } from "../components/LanguageSelect";
import { clearDevice, onOutboxChange, pending } from "../outbox";
import { navigate } from "../router";
import { me } from "../session";

export function Account({ user }: { user: Me }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const [waiting, setWaiting] = useState(0);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    const update = () => void pending().then((items) => setWaiting(items.length));
    update();
    return onOutboxChange(update);
  }, []);

  async function changePassword(e: Event) {
    e.preventDefault();
    setMessage("");
    setError("");
    try {
      await api("/api/v1/me/password", "POST", { current_password: current, new_password: next });
      setCurrent("");
      setNext("");
      setMessage(t("account.password_changed"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) setError(t("account.password_wrong"));
      else if (err instanceof ApiError && err.status === 422) setError(t("account.password_short"));
      else setError(err instanceof ApiError ? err.problem.detail : String(err));
    }
  }

  async function doSignOut() {
    if (waiting > 0 && !confirming) {
      setConfirming(true);
      return;
    }
    await signOut().catch(() => undefined);
    await clearDevice();
    if ("caches" in window) for (const key of await caches.keys()) await caches.delete(key);
    me.set(null);
    navigate("/signin", true);
  }

  return (
    <main id="main" class="narrow">
      <h1>{t("account.title")}</h1>
      <p>
        {user.name} · {user.email} · {label("role", user.role)}
      </p>
      <LanguageSelect />
      <form onSubmit={changePassword}>
        <h2>{t("account.change_password")}</h2>
        <label>
          {t("account.current_password")}
          <input
            type="password"
            name="current_password"
            autocomplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          {t("account.new_password")}
          <input
            type="password"
            name="new_password"
            autocomplete="new-password"
            required
            minLength={10}
            aria-describedby="pw-help"
            value={next}
            onInput={(e) => setNext((e.target as HTMLInputElement).value)}
          />
        </label>
        <p id="pw-help" class="hint">
          {t("account.password_help")}
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {message && <p role="status">{message}</p>}
        <button type="submit">{t("account.change_button")}</button>
      </form>
      <h2>{t("account.sign_out")}</h2>
      <p>{t("account.sign_out_help")}</p>
      {confirming && (
        <p class="error" role="alert" data-testid="signout-warning">
          {t("account.sign_out_warning", { count: waiting })}
        </p>
      )}
      <button type="button" class={confirming ? "danger" : "secondary"} onClick={() => void doSignOut()}>
        {confirming ? t("account.sign_out_anyway") : t("account.sign_out")}
      </button>
    </main>
  );
}
