/** Secret values stay out of Terraform plans and state. */
import { expr, strings, type TfConfig } from './hcl.ts';

/** Resources whose secret material Terraform would store in its state (google_apikeys_key: key_string). */
const SECRET_IN_STATE = [
  'google_storage_hmac_key',
  'google_service_account_key',
  'random_password',
  'google_apikeys_key',
];
/** Attributes that hold secret material; no output may show one. */
const SECRET_ATTRIBUTES = /\.(key_string|secret|private_key|secret_data|result)\b/;

export function checkNoSecretsInState(c: TfConfig): string[] {
  const problems: string[] = [];
  for (const m of Object.values(c.modules)) {
    for (const [name, o] of Object.entries(m.outputs)) {
      for (const [, v] of strings(o.value)) {
        if (SECRET_ATTRIBUTES.test(v))
          problems.push(`${m.path}: output ${name} shows secret material (${v})`);
      }
    }
    for (const type of SECRET_IN_STATE) {
      for (const name of Object.keys(m.resources[type] ?? {})) {
        problems.push(`${m.path}: ${type}.${name} would keep its secret in the Terraform state`);
      }
    }
    for (const [name, v] of Object.entries(m.resources.google_secret_manager_secret_version ?? {})) {
      if ('secret_data' in v)
        problems.push(`${m.path}: secret version ${name} sets secret_data, which is kept in state`);
      const wo = expr(v.secret_data_wo);
      if (!wo?.startsWith('ephemeral.')) {
        problems.push(`${m.path}: secret version ${name} is not written from an ephemeral value`);
      }
    }
  }
  return problems;
}
