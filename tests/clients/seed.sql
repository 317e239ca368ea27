-- The foundation issue's acceptance story, run by the real mysql client.
ADMIN SET FRONTEND CONFIG ('default_replication_num' = "1");
CREATE DATABASE IF NOT EXISTS mydatabase;
USE mydatabase;
CREATE TABLE user_behavior_declared
(
    UserID int(11),
    ItemID int(11),
    CategoryID int(11),
    BehaviorType varchar(65533),
    Timestamp datetime
)
ENGINE = OLAP
DUPLICATE KEY(UserID)
DISTRIBUTED BY HASH(UserID);
DESCRIBE user_behavior_declared;
INSERT INTO user_behavior_declared VALUES
  (1, 2576651, 149192, 'pv', '2017-11-25 01:21:25'),
  (1, 3830808, 4181361, 'pv', '2017-11-25 07:04:53'),
  (2, 4365585, 2520377, 'buy', '2017-11-25 07:49:06'),
  (3, 4606018, 2735466, 'pv', '2017-11-25 13:28:01');
CREATE TABLE other (UserID int, n bigint) DISTRIBUTED BY HASH(UserID);
INSERT INTO other SELECT UserID, count(*) FROM user_behavior_declared WHERE BehaviorType = 'pv' GROUP BY UserID;
CREATE TABLE t3 AS SELECT UserID, ItemID FROM user_behavior_declared WHERE UserID = 1;
SELECT u.UserID, o.n, count(*) AS c FROM user_behavior_declared u JOIN other o ON u.UserID = o.UserID
  GROUP BY u.UserID, o.n ORDER BY c DESC, u.UserID LIMIT 10;
SHOW DATABASES; SHOW TABLES;
SHOW CREATE TABLE t3;
TRUNCATE TABLE other;
SELECT count(*) AS after_truncate FROM other;
DROP TABLE other;
SELECT LABEL, STATE FROM information_schema.loads ORDER BY JOB_ID DESC LIMIT 1;
