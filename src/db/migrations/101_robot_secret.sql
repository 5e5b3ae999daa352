-- Issue 18: DingTalk custom robots with the 加签 security setting refuse unsigned posts. The robot's
-- secret (SEC…) signs each post's URL (src/notifications/dingtalk-sign.ts); like `secret` it is kept
-- in clear because every attempt is signed with it, and it is never shown by the API nor logged.
ALTER TABLE subscribers ADD COLUMN robot_secret text;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_robot_secret_dingtalk CHECK (robot_secret IS NULL OR format = 'dingtalk');
