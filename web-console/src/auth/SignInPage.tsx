import { useState, type FormEvent } from 'react';
import { messageOf } from '../ui/messages';
import { useAuth } from './AuthProvider';

export function SignInPage() {
  const { signIn } = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(username.trim(), password);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="card signin__card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title" className="signin__title">
          Sign in to Deskplane
        </h1>
        {error && (
          <p className="alert alert--error" role="alert">
            {error}
          </p>
        )}
        <label className="field">
          <span className="field__label">User name</span>
          <input className="input" name="username" autoComplete="username" required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label className="field">
          <span className="field__label">Password</span>
          <input className="input" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button className="button button--primary button--block" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
