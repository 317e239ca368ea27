//! Integration tests: the real server, spoken to over the MySQL protocol.

mod broker;
mod chaos;
mod clients;
mod crash;
mod fault_proxy;
mod faults;
mod file_fuzz;
mod harness;
mod hostile_files;
mod kill;
mod limits;
mod listing;
mod loads;
mod pipe;
mod privileges;
mod protocol;
mod s3;
mod secrets;
mod seed;
mod slt;
mod soak;
mod storage_faults;
mod tls;
mod tools;
mod wire;
