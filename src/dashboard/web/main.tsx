import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, storedKey, storeKey, type Me } from './api';
import { EngagementPage } from './engagement';
import { useHashRoute } from './hooks';
import { PortfolioPage } from './portfolio';
import './styles.css';

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [checking, setChecking] = useState(Boolean(storedKey()));
  const route = useHashRoute();

  const signIn = async (key: string) => {
    storeKey(key);
    setChecking(true);
    try {
      setMe(await api<Me>('GET', '/me'));
      setProblem(null);
    } catch (e) {
      // Only a refused key is forgotten; an API that is down or restarting keeps it for the next try.
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) storeKey(null);
      setProblem(e instanceof ApiError ? e.message : String(e));
    } finally {
      setChecking(false);
    }
  };

  useEffect(() => {
    const key = storedKey();
    if (key) void signIn(key);
  }, []);

  if (!me) return <SignIn busy={checking} problem={problem} onKey={signIn} />;
  const engagementId = route.match(/^#\/engagements\/([0-9a-f-]{36})/)?.[1];
  return (
    <>
      <header class="top">
        <a href="#/" class="brand">
          BPO lifecycle orchestrator
        </a>
        <nav aria-label="Main">
          <a href="#/">Portfolio</a>
          <a
            href={`${me.temporalUiUrl}/namespaces/${encodeURIComponent(me.namespace)}/workflows`}
            target="_blank"
            rel="noreferrer"
          >
            Temporal Web UI
          </a>
          <a href="/docs" target="_blank" rel="noreferrer">
            API docs
          </a>
        </nav>
        <span class="who" data-testid="who">
          {me.name} · {me.role.toLowerCase().replace('_', ' ')}
          {me.vendor ? ` · ${me.vendor.legalName}` : ''}
        </span>
        <button
          type="button"
          class="link"
          onClick={() => {
            storeKey(null);
            setMe(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {engagementId ? <EngagementPage key={engagementId} id={engagementId} me={me} /> : <PortfolioPage me={me} />}
      </main>
    </>
  );
}

function SignIn(props: { busy: boolean; problem: string | null; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  return (
    <main class="sign-in">
      <h1>BPO lifecycle orchestrator</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (key.trim()) props.onKey(key.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" disabled={props.busy}>
          {props.busy ? 'Checking…' : 'Open the dashboard'}
        </button>
        {props.problem && (
          <p role="alert" class="error">
            {props.problem}
          </p>
        )}
        <p class="hint">
          The dashboard uses the same API keys and roles as the API (<code>npm run create-admin-key</code>, then{' '}
          <code>POST /api-keys</code>). The key stays in this tab only.
        </p>
      </form>
    </main>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
