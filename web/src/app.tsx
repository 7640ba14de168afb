import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { lang, t } from "./i18n";
import { LanguageSelect } from "./components/LanguageSelect";
import { onOutboxChange, pending } from "./outbox";
import { match, navigate, route } from "./router";
import { me, online } from "./session";
import { useSignal } from "./signal";
import { SignIn } from "./pages/SignIn";
import { CaseList } from "./pages/CaseList";
import { CaseForm } from "./pages/CaseForm";
import { CaseDetail } from "./pages/CaseDetail";
import { MapPage } from "./pages/MapPage";
import { Suggestions } from "./pages/Suggestions";
import { Campaigns, CampaignDetail } from "./pages/Campaigns";
import { Dossiers } from "./pages/Dossiers";
import { Account } from "./pages/Account";
import { OutboxPage } from "./pages/OutboxPage";
import type { Me } from "./api";

const CORPS = ["coordinator", "admin"];

function useOutboxCount(): number {
  const [count, setCount] = useState(0);
  useEffect(() => {
    const update = () => void pending().then((items) => setCount(items.length));
    update();
    return onOutboxChange(update);
  }, []);
  return count;
}

function Nav({ user }: { user: Me }) {
  const path = useSignal(route);
  const waiting = useOutboxCount();
  const links: [string, string, boolean][] = [
    ["/cases", t("nav.cases"), user.role !== "campaigner"],
    ["/map", t("nav.map"), true],
    ["/suggestions", t("nav.suggestions"), CORPS.includes(user.role)],
    ["/campaigns", t("nav.campaigns"), [...CORPS, "campaigner"].includes(user.role)],
    ["/dossiers", t("nav.dossiers"), [...CORPS, "campaigner"].includes(user.role)],
    ["/outbox", waiting ? t("nav.outbox_count", { count: waiting }) : t("nav.outbox"), true],
    ["/account", t("nav.account"), true],
  ];
  return (
    <nav aria-label={t("nav.label")}>
      <ul>
        {links
          .filter(([, , shown]) => shown)
          .map(([href, text]) => (
            <li key={href}>
              <a href={href} aria-current={path.startsWith(href) ? "page" : undefined}>
                {text}
              </a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

function Page({ user }: { user: Me }): ComponentChildren {
  const path = useSignal(route).split("?")[0];
  let params: Record<string, string> | null;
  if (path === "/" || path === "/signin") {
    queueMicrotask(() => navigate(user.role === "campaigner" ? "/campaigns" : "/cases", true));
    return null;
  }
  if (path === "/cases") return <CaseList user={user} />;
  if (path === "/cases/new") return <CaseForm user={user} />;
  if ((params = match("/cases/:id/edit", path))) return <CaseForm user={user} editId={params.id} />;
  if ((params = match("/cases/:id", path))) return <CaseDetail id={params.id} user={user} />;
  if (path === "/map") return <MapPage user={user} />;
  if (path === "/suggestions") return <Suggestions />;
  if (path === "/campaigns") return <Campaigns />;
  if ((params = match("/campaigns/:id", path))) return <CampaignDetail id={params.id} />;
  if (path === "/dossiers") return <Dossiers />;
  if (path === "/account") return <Account user={user} />;
  if (path === "/outbox") return <OutboxPage />;
  return (
    <main id="main">
      <h1>{t("page.not_found")}</h1>
      <a href="/cases">{t("nav.cases")}</a>
    </main>
  );
}

export function App() {
  const user = useSignal(me);
  const isOnline = useSignal(online);
  useSignal(lang); // re-render every text on a language switch
  return (
    <>
      <a class="skip" href="#main">
        {t("nav.skip")}
      </a>
      <header class="top">
        <a class="brand" href="/">
          EJ Corps
        </a>
        {!isOnline && (
          <span class="offline-badge" role="status">
            {t("status.offline")}
          </span>
        )}
        <LanguageSelect />
      </header>
      {user && <Nav user={user} />}
      {user === undefined ? (
        <main id="main">
          <p role="status">{t("status.loading")}</p>
        </main>
      ) : user === null ? (
        <SignIn />
      ) : (
        <Page user={user} />
      )}
    </>
  );
}
