//! Real clients end to end: the mysql CLI, pymysql and mysql-connector-python.
