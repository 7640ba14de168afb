import { useState } from "preact/hooks";
import { ApiError, OfflineError, signIn } from "../api";
import { t } from "../i18n";
import { cachePut } from "../outbox";
import { me, sendOutbox } from "../session";

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const user = await signIn(email, password);
      await cachePut("me", user);
      me.set(user);
      void sendOutbox();
    } catch (e) {
      if (e instanceof OfflineError) setError(t("signin.offline"));
      else if (e instanceof ApiError && e.status === 429) setError(t("signin.too_many"));
      else setError(t("signin.wrong"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="narrow">
      <h1>{t("signin.title")}</h1>
      <p>{t("signin.intro")}</p>
      <form onSubmit={submit}>
        <label>
          {t("signin.email")}
          <input
            type="email"
            name="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          {t("signin.password")}
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {t("signin.submit")}
        </button>
      </form>
    </main>
  );
}
