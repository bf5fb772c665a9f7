//! Every validation error path.
