//! The table's schema as one value: `create_table` creates it, and `feedback manifest` prints it
//! for the stack template's check. Every key attribute is a string.

use serde::Serialize;

/// A global secondary index; it projects every attribute, or only the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Index {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    /// Only the table's and the index's keys are projected: a write that changes neither costs
    /// the index nothing, and a query's items are read from the table.
    pub keys_only: bool,
}

impl Index {
    /// The CloudFormation and DynamoDB name of the projection.
    pub fn projection_type(&self) -> &'static str {
        if self.keys_only {
            "KEYS_ONLY"
        } else {
            "ALL"
        }
    }
}

/// The single table's key schema, indexes and TTL attribute; billed on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TableSchema {
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    pub indexes: &'static [Index],
    /// The attribute whose epoch seconds expire an item (idempotency records, quota windows).
    pub ttl_attribute: &'static str,
}

const fn gsi(name: &'static str, partition_key: &'static str, sort_key: &'static str) -> Index {
    Index { name, partition_key, sort_key, keys_only: false }
}

/// The table. `docs/data-model.md` has what each index serves.
pub const TABLE: TableSchema = TableSchema {
    partition_key: "PK",
    sort_key: "SK",
    indexes: &[
        gsi("GSI1", "GSI1PK", "GSI1SK"),
        gsi("GSI2", "GSI2PK", "GSI2SK"),
        gsi("GSI3", "GSI3PK", "GSI3SK"),
        gsi("GSI4", "GSI4PK", "GSI4SK"),
        gsi("GSI5", "GSI5PK", "GSI5SK"),
        gsi("GSI6", "GSI6PK", "GSI6SK"),
        // An authority's queue by creation: `GSI3`'s partition, the message id as sort key.
        Index { keys_only: true, ..gsi("GSI7", "GSI3PK", "GSI1SK") },
    ],
    ttl_attribute: "ttl",
};

impl TableSchema {
    /// Every key attribute, the table's first, each once.
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.partition_key, self.sort_key];
        for i in self.indexes {
            for name in [i.partition_key, i.sort_key] {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::TABLE;

    #[test]
    fn every_key_attribute_is_defined_once() {
        let attrs = TABLE.key_attributes();
        assert_eq!(attrs[..2], ["PK", "SK"]);
        let mut unique = attrs.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), attrs.len(), "{attrs:?}");
        for index in TABLE.indexes {
            assert!(attrs.contains(&index.partition_key) && attrs.contains(&index.sort_key), "{index:?}");
        }
        // GSI7 reuses GSI3's partition key and GSI1's sort key: no attribute of its own.
        assert_eq!(attrs.len(), 2 + 2 * (TABLE.indexes.len() - 1));
    }
}
