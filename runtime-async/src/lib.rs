//! The localhost proxy runtime (smol + hyper). Built in the proxy issue.
