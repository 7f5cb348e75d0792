import { useQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { api as defaultApi, type Api } from '../api/client';
import type { Desktop, List, Template } from '../api/types';
import { messageOf } from '../ui/messages';
import { errorsFromApi, validateCreate, type CreateErrors } from './createForm';

export interface CreateDesktopFormProps {
  onCreated: (d: Desktop) => void;
  onCancel?: () => void;
  /** Tests hand in their own; default the page's client. */
  api?: Pick<Api, 'get' | 'post'>;
}

export function CreateDesktopForm({ onCreated, onCancel, api = defaultApi }: CreateDesktopFormProps) {
  const id = useId();
  const templates = useQuery({ queryKey: ['templates'], queryFn: () => api.get<List<Template>>('/templates') });
  const [name, setName] = useState('');
  const [template, setTemplate] = useState('');
  const [startNow, setStartNow] = useState(true);
  const [persistent, setPersistent] = useState(true);
  const [errors, setErrors] = useState<CreateErrors>({ fields: {} });
  const [busy, setBusy] = useState(false);

  const items = templates.data?.items ?? [];
  const chosen = template || (items.length === 1 ? items[0]!.name : '');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const local = validateCreate({ name, template: chosen });
    setErrors(local);
    if (Object.keys(local.fields).length > 0) return;
    setBusy(true);
    try {
      const d = await api.post<Desktop>('/desktops', { name, template: chosen, runStrategy: startNow ? 'Always' : 'Halted', persistent });
      setName('');
      onCreated(d);
    } catch (err) {
      setErrors(errorsFromApi(err));
    } finally {
      setBusy(false);
    }
  };

  const describedBy = (f: keyof CreateErrors['fields'], hint?: string) => [errors.fields[f] ? `${id}-${f}-error` : undefined, hint].filter(Boolean).join(' ') || undefined;

  return (
    <form className="card create-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="card__title">
        New desktop
      </h2>
      {errors.form && (
        <p className="alert alert--error" role="alert">
          {errors.form}
        </p>
      )}
      <div className="create-form__grid">
        <div className="field">
          <label className="field__label" htmlFor={`${id}-name`}>
            Name
          </label>
          <input
            id={`${id}-name`}
            className="input"
            name="name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={!!errors.fields.name}
            aria-describedby={describedBy('name', `${id}-name-hint`)}
            autoComplete="off"
            spellCheck={false}
          />
          <span id={`${id}-name-hint`} className="field__hint">
            Lower-case letters, digits and “-”.
          </span>
          {errors.fields.name && (
            <span id={`${id}-name-error`} className="field__error">
              {errors.fields.name}
            </span>
          )}
        </div>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-template`}>
            Template
          </label>
          <select id={`${id}-template`} className="input" name="template" value={chosen} onChange={(e) => setTemplate(e.target.value)} aria-invalid={!!errors.fields.template} aria-describedby={describedBy('template')} disabled={templates.isPending}>
            <option value="">{templates.isPending ? 'Loading templates…' : 'Choose…'}</option>
            {items.map((t) => (
              <option key={`${t.source}/${t.name}`} value={t.name} disabled={t.ready === false}>
                {t.name} — {t.vcpus} vCPU, {t.memory}
                {t.ready === false ? ' (not ready)' : ''}
              </option>
            ))}
          </select>
          {templates.error && <span className="field__error">Templates cannot be loaded: {messageOf(templates.error)}</span>}
          {errors.fields.template && (
            <span id={`${id}-template-error`} className="field__error">
              {errors.fields.template}
            </span>
          )}
        </div>
      </div>
      <div className="create-form__options">
        <label className="check">
          <input type="checkbox" name="startNow" checked={startNow} onChange={(e) => setStartNow(e.target.checked)} />
          Start it now
        </label>
        <label className="check">
          <input type="checkbox" name="persistent" checked={persistent} onChange={(e) => setPersistent(e.target.checked)} />
          Keep its disk when stopped
        </label>
      </div>
      <div className="create-form__actions">
        {onCancel && (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create desktop'}
        </button>
      </div>
    </form>
  );
}
