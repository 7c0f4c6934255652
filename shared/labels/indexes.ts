/**
 * Firestore index definitions the labels queries need, as plain data for Terraform
 * (google_firestore_index / google_firestore_field).
 */
import { IMAGES_COLLECTION } from './doc.ts';

export interface FirestoreIndexField {
  fieldPath: string;
  order: 'ASCENDING' | 'DESCENDING';
}

export interface FirestoreIndex {
  collection: string;
  /** Collection-scoped composite index. */
  queryScope: 'COLLECTION';
  fields: FirestoreIndexField[];
}

/** `where('patientId', '==', id).orderBy('followUp')` for GET /v1/patients/{patientId}/images. */
export const FIRESTORE_INDEXES: readonly FirestoreIndex[] = [
  {
    collection: IMAGES_COLLECTION,
    queryScope: 'COLLECTION',
    fields: [
      { fieldPath: 'patientId', order: 'ASCENDING' },
      { fieldPath: 'followUp', order: 'ASCENDING' },
    ],
  },
];

export interface FirestoreFieldOverride {
  collection: string;
  field: string;
  /** No single-field index at all (google_firestore_field with an empty index_config). */
  indexes: [];
}

/**
 * Fields never queried: exempt from automatic single-field indexing (saves an index write per document, and
 * `record` is longer than the 1,500 bytes Firestore indexes anyway).
 */
export const FIRESTORE_FIELD_OVERRIDES: readonly FirestoreFieldOverride[] = [
  { collection: IMAGES_COLLECTION, field: 'record', indexes: [] },
  { collection: IMAGES_COLLECTION, field: 'contentHash', indexes: [] },
];
