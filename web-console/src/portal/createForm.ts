import { ApiError } from '../api/client';

/** The fields the form shows errors beside; any other field's problem goes above the form. */
export type CreateField = 'name' | 'template';

export interface CreateErrors {
  fields: Partial<Record<CreateField, string>>;
  /** A problem not tied to one field (a quota, the network). */
  form?: string;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const FIELDS: CreateField[] = ['name', 'template'];

/** Checks before sending, so the common mistakes are caught without a round trip. */
export function validateCreate(input: { name: string; template: string }): CreateErrors {
  const fields: CreateErrors['fields'] = {};
  if (input.name === '') fields.name = 'Enter a name.';
  else if (input.name.length > 63) fields.name = 'At most 63 characters.';
  else if (!NAME.test(input.name)) fields.name = 'Use lower-case letters, digits and "-", starting and ending with a letter or digit.';
  if (input.template === '') fields.template = 'Choose a template.';
  return { fields };
}

const QUOTA_WORDS: Record<string, string> = { desktops: 'number of desktops', vcpus: 'vCPUs', memory: 'memory' };

/** The API's answer to POST /desktops, placed where the person will look for it. */
export function errorsFromApi(err: unknown): CreateErrors {
  if (!(err instanceof ApiError)) return { fields: {}, form: err instanceof Error ? err.message : String(err) };
  if (err.status === 400 && err.field) {
    // `name: must match …` — the field path is already in `field`, keep the words.
    const field = FIELDS.find((f) => err.field === f || err.field?.startsWith(`${f}.`) || err.field === `/${f}`);
    const text = err.message.replace(/^[\w./[\]-]+: /, '');
    if (field) return { fields: { [field]: capitalise(text) } };
    return { fields: {}, form: err.message };
  }
  if (err.status === 409 && err.quota) {
    const what = QUOTA_WORDS[err.quota] ?? err.quota;
    return { fields: {}, form: `Not created: your team's quota for ${what} is used up. ${capitalise(err.message)} Delete a desktop you no longer need, or ask your administrator for a larger quota.` };
  }
  if (err.status === 409) return { fields: { name: capitalise(err.message) } };
  return { fields: {}, form: err.requestId ? `${err.message} (request ${err.requestId})` : err.message };
}

function capitalise(s: string): string {
  const t = s.trim();
  const sentence = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
