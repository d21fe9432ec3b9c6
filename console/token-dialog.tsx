/** Asks for the API token when the API answered 401 (see token.ts). */
import { useEffect, useRef, useState } from 'preact/hooks';
import { answerToken, onTokenQuestion, pendingTokenQuestion, type TokenQuestion } from './token.ts';

export function TokenDialog() {
  const [question, setQuestion] = useState<TokenQuestion | undefined>(pendingTokenQuestion());
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => onTokenQuestion(() => setQuestion(pendingTokenQuestion())), []);
  useEffect(() => {
    if (question) input.current?.focus();
  }, [question]);
  if (!question) return null;
  const submit = (e: Event) => {
    e.preventDefault();
    if (value.trim()) {
      answerToken(value);
      setValue('');
    }
  };
  return (
    <div class="overlay">
      <div role="dialog" aria-modal="true" aria-labelledby="token-title" data-testid="token-dialog">
      <form class="dialog" onSubmit={submit}>
        <h2 id="token-title">API token</h2>
        <p>
          {question.refused
            ? 'The API refused that token. Enter the token signaling was started with (--api-token).'
            : 'This gbcast API needs a token: the one signaling was started with (--api-token).'}
        </p>
        <p class="muted">The console keeps it in this browser's local storage.</p>
        <input
          ref={input}
          type="password"
          autocomplete="current-password"
          placeholder="token"
          aria-label="API token"
          data-testid="token-input"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <div class="dialog-actions">
          <button type="submit" class="primary" data-testid="token-submit" disabled={!value.trim()}>
            Continue
          </button>
        </div>
      </form>
      </div>
    </div>
  );
}
